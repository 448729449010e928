/**
 * `parley deluser` while `parley serve` runs goes through the admin socket:
 * the running server removes the account as an in-band removal does, so
 * the user's sessions are closed and nothing of the account stays cached
 * (its PEP nodes: the same name registered again starts with none).
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { iq, TestClient } from "../helpers/client.ts";
import { startServerProcess } from "../helpers/server_process.ts";
import { runParley } from "../helpers/parley_process.ts";
import { itemsError, pepNodes, publishXml } from "../helpers/pep.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const MAIN = join(ROOT, "main.ts");
const ownNodes = (c: TestClient) => pepNodes(c, "frank@localhost");

Deno.test("parley deluser on a running server closes the sessions and drops cached data", async () => {
  const server = await startServerProcess({
    storage: { driver: "sqlite" },
    auth: { provider: "internal" },
    accounts: { tombstoneDays: 0 },
  });
  const parley = (args: string[], stdin?: string) =>
    runParley(MAIN, [...args, "-c", server.configFile], { cwd: ROOT, stdin });
  const login = () =>
    TestClient.login({ port: server.ports.c2s, user: "frank", password: "pw", resource: "r" });
  try {
    for (let i = 0; i < 100 && !server.log().includes("admin socket on"); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(
      (await parley(["adduser", "frank@localhost", "--password-stdin"], "pw\n")).code,
      0,
    );
    const before = await login();
    const published = await iq(before, "p", publishXml("p", "ex:a", "1", "<v xmlns='ex'/>"));
    assert.equal(published.attrs.type, "result", published.toString());
    assert.deepEqual(await ownNodes(before), ["ex:a"]);

    const removed = await parley(["deluser", "frank@localhost"]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /Deleted frank@localhost .*by the running server/);
    assert.equal(await before.streamError(), "not-authorized");
    assert.match(server.log(), /account "frank@localhost" removed through the admin socket/);

    const missing = await parley(["deluser", "frank@localhost"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /frank@localhost does not exist/);

    assert.equal(
      (await parley(["adduser", "frank@localhost", "--password-stdin"], "pw\n")).code,
      0,
    );
    const after = await login();
    assert.deepEqual(await ownNodes(after), []);
    assert.equal(await itemsError(after, "frank@localhost", "ex:a"), "item-not-found");
    after.close();
  } finally {
    await server.stop();
  }
});
