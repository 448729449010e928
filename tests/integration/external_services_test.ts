/**
 * External service discovery (XEP-0215): STUN/TURN from the config, and
 * temporary TURN credentials checked against the shared-secret formula
 * (username `<expiry>:<bare JID>`, password base64(HMAC-SHA1(secret, username))).
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { errorCondition, hostFeatures, iq, TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { loginAt, serverPair } from "../helpers/federation.ts";
import type { Element } from "../../src/xml/element.ts";

const NS = "urn:xmpp:extdisco:2";
const SECRET = "turn-shared-secret";

const SERVICES = {
  externalServices: {
    credentialLifetimeSeconds: 3600,
    services: {
      stun: { type: "stun", host: "stun.example.net", port: 3478, transport: "udp" },
      "turn-udp": {
        type: "turn",
        host: "turn.example.net",
        port: 3478,
        transport: "udp",
        secret: SECRET,
        name: "Relay",
      },
      "turns-tcp": {
        type: "turns",
        host: "turn.example.net",
        port: 5349,
        transport: "tcp",
        secret: SECRET,
      },
      fixed: { type: "turn", host: "old.example.net", username: "u", password: "p" },
    },
  },
};

function login(server: TestServer) {
  return TestClient.login({
    port: server.ports.c2s,
    user: "alice",
    password: "wonderland",
    resource: "r",
  });
}

/** The formula, written independently of the server's code (node:crypto). */
function checkCredentials(service: Element, user: string, before: number, after: number): void {
  const { username, password, expires } = service.attrs;
  const [expiry, who] = username.split(/:(.*)/s);
  assert.equal(who, user);
  const t = Number(expiry);
  assert.ok(t >= Math.floor(before / 1000) + 3600 && t <= Math.ceil(after / 1000) + 3600, username);
  assert.equal(password, createHmac("sha1", SECRET).update(username).digest("base64"));
  assert.equal(new Date(expires).getTime(), t * 1000);
  assert.match(expires, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(service.attrs.restricted, "1");
}

Deno.test("external services: the list, filtered by type, with TURN credentials by the shared-secret formula", async () => {
  const server = await startTestServer(SERVICES);
  const alice = await login(server);
  try {
    assert.ok((await hostFeatures(alice)).includes(NS));
    const before = Date.now();
    const r = await iq(
      alice,
      "s1",
      `<iq type='get' id='s1' to='localhost'><services xmlns='${NS}'/></iq>`,
    );
    const after = Date.now();
    assert.equal(r.attrs.type, "result");
    const list = r.getChild("services", NS)!.getChildren("service");
    assert.deepEqual(
      list.map((s) =>
        `${s.attrs.type} ${s.attrs.host} ${s.attrs.port ?? "-"} ${s.attrs.transport ?? "-"}`
      ),
      [
        "stun stun.example.net 3478 udp",
        "turn turn.example.net 3478 udp",
        "turns turn.example.net 5349 tcp",
        "turn old.example.net - -",
      ],
    );
    assert.equal(list[0].attrs.username, undefined);
    assert.equal(list[0].attrs.restricted, undefined);
    assert.equal(list[1].attrs.name, "Relay");
    checkCredentials(list[1], "alice@localhost", before, after);
    checkCredentials(list[2], "alice@localhost", before, after);
    assert.equal(list[3].attrs.username, "u");
    assert.equal(list[3].attrs.password, "p");

    // Filtered by type, and with no `to` (the user's own server).
    const t = await iq(
      alice,
      "s2",
      `<iq type='get' id='s2'><services xmlns='${NS}' type='turn'/></iq>`,
    );
    assert.deepEqual(
      t.getChild("services", NS)!.getChildren("service").map((s) => s.attrs.host),
      ["turn.example.net", "old.example.net"],
    );
    const none = await iq(
      alice,
      "s3",
      `<iq type='get' id='s3' to='localhost'><services xmlns='${NS}' type='xyz'/></iq>`,
    );
    assert.equal(none.getChild("services", NS)!.getChildren("service").length, 0);

    // <credentials/> for one service: fresh ones, by the same formula.
    const c = await iq(
      alice,
      "c1",
      `<iq type='get' id='c1' to='localhost'><credentials xmlns='${NS}'>` +
        `<service host='turn.example.net' type='turns' port='5349'/></credentials></iq>`,
    );
    assert.equal(c.attrs.type, "result");
    const got = c.getChild("credentials", NS)!.getChildren("service");
    assert.equal(got.length, 1);
    assert.equal(got[0].attrs.port, "5349");
    checkCredentials(got[0], "alice@localhost", before, Date.now());
    const missing = await iq(
      alice,
      "c2",
      `<iq type='get' id='c2' to='localhost'><credentials xmlns='${NS}'>` +
        `<service host='stun.example.net' type='stun'/></credentials></iq>`,
    );
    assert.equal(errorCondition(missing), "item-not-found");
  } finally {
    alice.close();
    await server.stop();
  }
});

Deno.test("external services: not offered without config, nor to other servers' users", async () => {
  const plain = await startTestServer();
  const alice = await login(plain);
  try {
    assert.ok(!(await hostFeatures(alice)).includes(NS));
    const r = await iq(
      alice,
      "n1",
      `<iq type='get' id='n1' to='localhost'><services xmlns='${NS}'/></iq>`,
    );
    assert.equal(errorCondition(r), "service-unavailable");
  } finally {
    alice.close();
    await plain.stop();
  }
  const [a, b] = await serverPair(SERVICES);
  const bob = await loginAt(b, "bob", "builder", "b.test");
  try {
    const r = await iq(
      bob,
      "f1",
      `<iq type='get' id='f1' to='a.test'><services xmlns='${NS}'/></iq>`,
    );
    assert.equal(errorCondition(r), "forbidden");
    assert.equal(r.attrs.from, "a.test");
  } finally {
    bob.close();
    await a.stop();
    await b.stop();
  }
});
