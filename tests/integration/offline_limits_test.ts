/**
 * Offline storage's byte limit (offline.maxBytes) and its count limits for
 * messages that arrive over s2s, not only from local clients.
 */
import assert from "node:assert/strict";
import { errorCondition as condition, TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { loginAt, serverPair } from "../helpers/federation.ts";
import { startServerProcess } from "../helpers/server_process.ts";
import { S2sPeer } from "../helpers/s2s_peer.ts";

/** A chat message of a little over `size` bytes as stored. */
const msg = (to: string, id: string, size: number) =>
  `<message to='${to}' type='chat' id='${id}'><body>${"x".repeat(size)}</body></message>`;

function alice(server: TestServer) {
  return TestClient.login({
    port: server.ports.c2s,
    user: "alice",
    password: "wonderland",
    resource: "a",
  });
}

const box = (server: TestServer, domain = "localhost") => server.storage.archive(domain, "offline");

/** Poll storage (bounded) until `user` has `n` offline messages. */
async function untilStored(server: TestServer, user: string, n: number, domain = "localhost") {
  const deadline = Date.now() + 5000;
  while (await box(server, domain).count(user) !== n) {
    if (Date.now() > deadline) {
      throw new Error(`expected ${n} stored, have ${await box(server, domain).count(user)}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("offline: past maxBytes a message is bounced; delivery frees the bytes", async () => {
  const server = await startTestServer({
    offline: { maxBytes: 2500 },
    // Byte budgets are counted for messages as sent: no archive stanza-id added.
    mam: { default: "never" },
  });
  try {
    const a = await alice(server);
    a.send(msg("bob@localhost", "b1", 1000));
    a.send(msg("bob@localhost", "b2", 1000));
    await untilStored(server, "bob", 2);
    // ~2.2 KB stored: another 1 KB would pass 2500, though the count is far below 1000.
    a.send(msg("bob@localhost", "b3", 1000));
    const err = await a.stanza((e) => e.attrs.id === "b3");
    assert.equal(err.attrs.type, "error");
    assert.equal(condition(err), "service-unavailable");
    // A small one still fits.
    a.send(msg("bob@localhost", "b4", 10));
    await untilStored(server, "bob", 3);
    await a.nothing((e) => e.attrs.id === "b4", 50);

    // Bob reads his box: its bytes are free again, two more 1 KB messages fit.
    const b = await TestClient.login({
      port: server.ports.c2s,
      user: "bob",
      password: "builder",
      resource: "b",
    });
    for (const id of ["b1", "b2", "b4"]) await b.stanza((e) => e.attrs.id === id);
    await untilStored(server, "bob", 0);
    b.close();
    await b.waitClosed();
    a.send(msg("bob@localhost", "b5", 1000));
    a.send(msg("bob@localhost", "b6", 1000));
    await untilStored(server, "bob", 2);
    await a.nothing((e) => e.attrs.type === "error", 100);
    a.close();
  } finally {
    await server.stop();
  }
});

Deno.test("offline: maxBytes counts what storage held before the server started, and changes made behind it", async () => {
  const server = await startTestServer({ offline: { maxBytes: 2500 } });
  try {
    // As if left by a previous run: 2 KB for bob already stored.
    await box(server).append("bob", {
      with: "carol@localhost",
      value: { stanza: msg("bob@localhost", "old", 2000) },
    });
    const a = await alice(server);
    a.send(msg("bob@localhost", "n1", 1000));
    assert.equal(condition(await a.stanza((e) => e.attrs.id === "n1")), "service-unavailable");
    assert.equal(await box(server).count("bob"), 1);
    // The box emptied outside the module (an admin tool, the account removed
    // and made again): the total follows storage, not the old figure.
    await box(server).delete("bob");
    a.send(msg("bob@localhost", "n2", 1000));
    await untilStored(server, "bob", 1);
    await a.nothing((e) => e.attrs.id === "n2", 50);
    a.close();
  } finally {
    await server.stop();
  }
});

Deno.test("offline: over s2s, the per-sender and byte limits hold and bounces go back to the remote sender", async () => {
  const [a, b] = await serverPair({}, {
    // One other domain's share is tested below: here a.test may fill the box.
    offline: { maxMessagesPerSender: 2, maxBytes: 3000, maxPercentPerOtherDomain: 100 },
    // Byte budgets are counted for messages as sent: no archive stanza-id added.
    mam: { default: "never" },
  });
  const alice = await loginAt(a, "alice", "wonderland", "a.test");
  const bobA = await loginAt(a, "bob", "builder", "a.test");
  try {
    for (const id of ["s1", "s2"]) alice.send(msg("bob@b.test", id, 10));
    await untilStored(b, "bob", 2, "b.test");
    alice.send(msg("bob@b.test", "s3", 10));
    const perSender = await alice.stanza((e) => e.attrs.id === "s3");
    assert.equal(perSender.attrs.type, "error");
    assert.equal(condition(perSender), "service-unavailable");

    // Another remote sender: ~2.6 KB fits beside the two small ones, the next does not.
    bobA.send(msg("bob@b.test", "big1", 2500));
    await untilStored(b, "bob", 3, "b.test");
    bobA.send(msg("bob@b.test", "big2", 500));
    assert.equal(
      condition(await bobA.stanza((e) => e.attrs.id === "big2")),
      "service-unavailable",
    );
    assert.equal(await box(b, "b.test").count("bob"), 3);
  } finally {
    alice.close();
    bobA.close();
    await a.stop();
    await b.stop();
  }
});

Deno.test("offline: one sender takes at most maxBytesPerSender of the box; others still get through", async () => {
  const server = await startTestServer(
    { offline: { maxBytes: 10_000, maxBytesPerSender: 3000 } },
    { alice: "wonderland", bob: "builder", carol: "builder" },
  );
  try {
    const a = await alice(server);
    a.send(msg("bob@localhost", "a1", 1200));
    a.send(msg("bob@localhost", "a2", 1200));
    await untilStored(server, "bob", 2);
    // 2.4 KB from alice, far below every count limit: a third 1.2 KB would pass 3000.
    a.send(msg("bob@localhost", "a3", 1200));
    assert.equal(condition(await a.stanza((e) => e.attrs.id === "a3")), "service-unavailable");
    const c = await TestClient.login({
      port: server.ports.c2s,
      user: "carol",
      password: "builder",
      resource: "c",
    });
    c.send(msg("bob@localhost", "c1", 1200));
    c.send(msg("bob@localhost", "c2", 1200));
    await untilStored(server, "bob", 4);
    await c.nothing((e) => e.attrs.type === "error", 50);
    a.close();
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("offline: made-up senders of one remote domain fill at most its share of the box", async () => {
  const [a, b] = await serverPair({}, {
    offline: { maxMessages: 10, maxMessagesPerSender: 2, maxPercentPerOtherDomain: 50 },
  });
  const alice = await loginAt(a, "alice", "wonderland", "a.test");
  const bobB = await loginAt(b, "bob", "builder", "b.test");
  bobB.close();
  await bobB.waitClosed();
  // Plays a.test's outgoing stream, which may send as any user of a.test.
  const peer = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test");
  try {
    await peer.dialback((id) => a.s2s!.manager.keys.generate("b.test", "a.test", id));
    const spoof = (from: string, id: string) =>
      peer.send(
        `<message from='${from}' to='bob@b.test' type='chat' id='${id}'><body>hi</body></message>`,
      );
    // Five made-up senders, each within its own share of two: half the box.
    for (let i = 0; i < 5; i++) spoof(`u${i}@a.test/r`, `u${i}`);
    await untilStored(b, "bob", 5, "b.test");
    // One more from a.test, even from a sender with nothing stored, is past a.test's half.
    spoof("alice@a.test/r", "over");
    const err = await alice.stanza((e) => e.attrs.id === "over");
    assert.equal(err.attrs.type, "error");
    assert.equal(condition(err), "service-unavailable");
    assert.equal(await box(b, "b.test").count("bob"), 5);
    // Users of b.test itself are not held to a.test's share.
    const local = await loginAt(b, "alice", "wonderland", "b.test");
    local.send(msg("bob@b.test", "local", 10));
    await untilStored(b, "bob", 6, "b.test");
    local.close();
  } finally {
    peer.close();
    alice.close();
    await a.stop();
    await b.stop();
  }
});

Deno.test({
  name: "offline: maxBytes holds across a restart (SQLite storage, totals derived again)",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "parley-offline-" });
    const config = {
      storage: { driver: "sqlite", path: `${dir}/parley.sqlite` },
      offline: { maxBytes: 2500 },
    };
    // The insecure provider makes accounts at their first login.
    const login = (port: number, user: string) =>
      TestClient.login({ port, user, password: "x", resource: "r", mechanism: "PLAIN" });
    try {
      let server = await startServerProcess(config);
      try {
        const port = server.ports["c2s"];
        (await login(port, "bob")).close();
        const a = await login(port, "alice");
        a.send(msg("bob@localhost", "r1", 1000));
        a.send(msg("bob@localhost", "r2", 1000));
        // Bounced once the first two are stored: proof they are.
        a.send(msg("bob@localhost", "r3", 1000));
        assert.equal(condition(await a.stanza((e) => e.attrs.id === "r3")), "service-unavailable");
        a.close();
      } finally {
        await server.stop();
      }
      server = await startServerProcess(config);
      try {
        const a = await login(server.ports["c2s"], "alice");
        a.send(msg("bob@localhost", "r4", 1000));
        const err = await a.stanza((e) => e.attrs.id === "r4");
        assert.equal(condition(err), "service-unavailable", "the box is as full as it was");
        a.close();
      } finally {
        await server.stop();
      }
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
