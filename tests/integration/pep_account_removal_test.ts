/**
 * PEP nodes are kept in memory (engine/node_cache.ts), and node counts
 * come from them: an account removed and registered again under the same
 * name while the server runs starts with no nodes and a fresh node count.
 */
import assert from "node:assert/strict";
import { errorCondition, iq, TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { itemsError, pepNodes, publishXml } from "../helpers/pep.ts";

const NS_REGISTER = "jabber:iq:register";

async function register(server: TestServer, user: string, password: string) {
  const c = await TestClient.connect({ port: server.ports.c2s });
  try {
    await c.open();
    await c.starttls();
    await c.open();
    const r = await iq(
      c,
      "reg",
      `<iq type='set' id='reg'><query xmlns='${NS_REGISTER}'>` +
        `<username>${user}</username><password>${password}</password></query></iq>`,
    );
    assert.equal(r.attrs.type, "result", r.toString());
  } finally {
    c.close();
  }
}

const login = (server: TestServer, user: string, password: string) =>
  TestClient.login({ port: server.ports.c2s, user, password, resource: "r" });

const ownNodes = (c: TestClient) => pepNodes(c, "frank@localhost");

const publish = (c: TestClient, node: string) =>
  iq(c, "p-" + node, publishXml("p-" + node, node, "1", "<v xmlns='ex'/>"));

Deno.test("pep: an account removed and registered again has no nodes and may create its full share", async () => {
  const server = await startTestServer({
    registration: { enabled: true, maxPerIp: 100 },
    accounts: { tombstoneDays: 0 },
    pep: { maxNodes: 2 },
  });
  try {
    await register(server, "frank", "pw");
    const before = await login(server, "frank", "pw");
    for (const node of ["ex:a", "ex:b"]) {
      assert.equal((await publish(before, node)).attrs.type, "result");
    }
    assert.equal(errorCondition(await publish(before, "ex:c")), "resource-constraint");
    assert.deepEqual(await ownNodes(before), ["ex:a", "ex:b"]);
    before.send(`<iq type='set' id='rm'><query xmlns='${NS_REGISTER}'><remove/></query></iq>`);
    await before.waitClosed();
    const deadline = Date.now() + 5000;
    while (await server.auth.userExists("localhost", "frank")) {
      if (Date.now() > deadline) throw new Error("frank still exists");
      await new Promise((r) => setTimeout(r, 20));
    }

    await register(server, "frank", "other");
    const after = await login(server, "frank", "other");
    assert.deepEqual(await ownNodes(after), []);
    assert.equal(await itemsError(after, "frank@localhost", "ex:a"), "item-not-found");
    // Two nodes again, the old ones not counted.
    for (const node of ["ex:c", "ex:d"]) {
      assert.equal((await publish(after, node)).attrs.type, "result");
    }
    assert.deepEqual(await ownNodes(after), ["ex:c", "ex:d"]);
    after.close();
  } finally {
    await server.stop();
  }
});
