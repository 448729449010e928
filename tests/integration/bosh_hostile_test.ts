/**
 * BOSH against a hostile or broken client: one that never collects its
 * output, drops its connections, or sends more than it may.
 */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { BoshClient, withBosh } from "../helpers/bosh_client.ts";

Deno.test("bosh: a client that never polls ends as a slow reader; each message reaches it once, live or offline", async () => {
  await withBosh({ bosh: { maxQueuedElements: 16 } }, async (s) => {
    const bob = await TestClient.login({
      port: s.server.ports.c2s,
      user: "bob",
      password: "builder",
      resource: "tcp",
    });
    let again: TestClient | undefined;
    try {
      const alice = new BoshClient(s.url);
      await alice.login("alice", "wonderland", "web");
      await alice.stopPolling();
      const ids = Array.from({ length: 40 }, (_, i) => `m${i}`);
      for (const id of ids) {
        bob.send(
          `<message to='alice@localhost/web' type='chat' id='${id}'><body>${id}</body></message>`,
        );
      }
      bob.send("<iq type='get' id='sync'><ping xmlns='urn:xmpp:ping'/></iq>");
      await bob.stanza((e) => e.attrs.id === "sync");
      const last = await alice.request();
      assert.equal(last.attrs.type, "terminate");
      const seen = alice.inbox.filter((e) => e.name === "message").map((e) => e.attrs.id);
      again = await TestClient.login({
        port: s.server.ports.c2s,
        user: "alice",
        password: "wonderland",
        resource: "again",
      });
      while (seen.length < ids.length) {
        seen.push((await again.stanza((e) => e.name === "message")).attrs.id);
      }
      assert.deepEqual(seen, ids);
    } finally {
      again?.close();
      bob.close();
    }
  });
});

Deno.test("bosh: a held request whose connection dropped loses nothing: its rid asked again carries the output", async () => {
  await withBosh({ bosh: { maxWaitSeconds: 1 } }, async (s) => {
    const bob = await TestClient.login({
      port: s.server.ports.c2s,
      user: "bob",
      password: "builder",
      resource: "tcp",
    });
    try {
      const alice = new BoshClient(s.url);
      await alice.login("alice", "wonderland", "web", false);
      await alice.stopPolling();
      await alice.settled();
      // A poll sent on a raw connection, closed before its answer.
      const rid = alice.rid++;
      const body = new TextEncoder().encode(alice.body("", {}, rid));
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.server.ports.http });
      await conn.write(new TextEncoder().encode(
        `POST /http-bind HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n` +
          `Content-Length: ${body.length}\r\n\r\n`,
      ));
      await conn.write(body);
      conn.close();
      bob.send("<message to='alice@localhost/web' type='chat' id='x1'><body>1</body></message>");
      // The client retries the rid whose answer it lost, then goes on.
      await alice.request("", {}, rid);
      bob.send("<message to='alice@localhost/web' type='chat' id='x2'><body>2</body></message>");
      const ids = () => alice.inbox.filter((e) => e.name === "message").map((e) => e.attrs.id);
      for (let i = 0; i < 20 && ids().length < 2; i++) await alice.request();
      assert.deepEqual(ids(), ["x1", "x2"]);
      await alice.terminate();
    } finally {
      bob.close();
    }
  });
});

Deno.test("bosh: sessions abandoned from several addresses are capped per address and in all, and their end frees the caps", async () => {
  await withBosh({
    http: { trustedProxies: ["127.0.0.1"] },
    bosh: { maxSessionsPerIp: 5, maxSessions: 12, maxWaitSeconds: 1, maxInactivitySeconds: 1 },
  }, async (s) => {
    const create = async (ip: string) => {
      const c = new BoshClient(s.url);
      c.headers["x-forwarded-for"] = ip;
      const reply = await c.create();
      return reply.attrs.sid ? "ok" : reply.attrs.condition;
    };
    const results: Record<string, string[]> = {};
    for (const ip of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) {
      results[ip] = [];
      for (let i = 0; i < 7; i++) results[ip].push(await create(ip));
    }
    const ok = (n: number) => [...Array(n).fill("ok"), ...Array(7 - n).fill("policy-violation")];
    assert.deepEqual(results, { "10.0.0.1": ok(5), "10.0.0.2": ok(5), "10.0.0.3": ok(2) });
    assert.equal(s.handler.sessions.size, 12);
    for (let i = 0; i < 100 && s.handler.sessions.size > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(s.handler.sessions.size, 0);
    assert.equal(await create("10.0.0.3"), "ok");
  });
});
