/**
 * BOSH against a hostile or broken client: one that never collects its
 * output, drops its connections, or sends more than it may.
 */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { BoshClient, type BoshServer, startBoshServer } from "../helpers/bosh_client.ts";

async function withBosh(
  overrides: Record<string, unknown>,
  fn: (s: BoshServer) => Promise<void>,
): Promise<void> {
  const s = await startBoshServer(overrides);
  try {
    await fn(s);
  } finally {
    await s.stop();
  }
}

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
