/**
 * The archive over time and across features: offline messages and the
 * archive together (docs/archive.md), retention expiry, removal with the
 * account, messages arriving over s2s.
 */
import assert from "node:assert/strict";
import { iq, TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { loginAt, serverPair } from "../helpers/federation.ts";
import { S2sPeer } from "../helpers/s2s_peer.ts";
import {
  archiveOf,
  login,
  mamQuery,
  NS_MAM,
  NS_SID,
  seed,
  stanzaId,
  startWithAliceAndBob,
} from "../helpers/mam.ts";

const chat = (to: string, body: string, extra = "") =>
  `<message to='${to}' type='chat' id='${body}'><body>${body}</body>${extra}</message>`;

/** Poll (bounded) until `count()` is `n`. */
async function until(what: string, count: () => Promise<number>, n: number) {
  const deadline = Date.now() + 5000;
  while (await count() !== n) {
    if (Date.now() > deadline) throw new Error(`expected ${n} ${what}, have ${await count()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const offlineCount = (server: TestServer, user: string) => () =>
  server.storage.archive("localhost", "offline").count(user);

/** alice sends bob (offline) three archived messages and one the archive may not keep. */
async function fillOffline(server: TestServer, alice: TestClient) {
  for (const b of ["o1", "o2", "o3"]) alice.send(chat("bob@localhost", b));
  alice.send(chat("bob@localhost", "o4", `<no-permanent-store xmlns='urn:xmpp:hints'/>`));
  await until("offline", offlineCount(server, "bob"), 4);
  assert.equal(await archiveOf(server).count("bob"), 3);
}

/**
 * Alice fills offline bob's queue (fillOffline), then bob logs in with
 * `presence` (as `login` takes it) and `body` runs; everything is closed after.
 */
async function withOfflineBob(
  presence: string | false | undefined,
  body: (server: TestServer, alice: TestClient, bob: TestClient) => Promise<void>,
) {
  const server = await startTestServer();
  const alice = await login(server, "alice", "a");
  try {
    await fillOffline(server, alice);
    const bob = await login(server, "bob", "b", presence);
    try {
      await body(server, alice, bob);
    } finally {
      bob.close();
    }
  } finally {
    alice.close();
    await server.stop();
  }
}

Deno.test("mam+offline: a session that queried before presence is not replayed what it fetched", async () => {
  await withOfflineBob(false, async (server, alice, bob) => {
    const r = await mamQuery(bob);
    assert.deepEqual(r.bodies, ["o1", "o2", "o3"]);
    // Archived after the query began: the query could not see it, so it is replayed.
    alice.send(chat("bob@localhost", "o5"));
    await until("offline", offlineCount(server, "bob"), 5);
    bob.send("<presence/>");
    const replayed = await bob.stanza((e) => e.getChildText("body") === "o5");
    assert.ok(stanzaId(replayed, "bob@localhost"));
    // o4 (not archived) is replayed too; o1..o3 are not.
    await until("offline", offlineCount(server, "bob"), 0);
    await bob.nothing((e) => e.name === "message" && /^o[123]$/.test(e.getChildText("body") ?? ""));
    const bodies = bob.frames.flatMap((f) =>
      f.kind === "stanza" && f.element.name === "message" ? [f.element.getChildText("body")] : []
    );
    assert.deepEqual(bodies, ["o4"]);
  });
});

Deno.test("mam+offline: presence first gets every offline message, with its stanza-id", async () => {
  await withOfflineBob(undefined, async (server, _alice, bob) => {
    const got: string[] = [];
    for (const b of ["o1", "o2", "o3", "o4"]) {
      const m = await bob.stanza((e) => e.getChildText("body") === b);
      got.push(b);
      assert.equal(stanzaId(m, "bob@localhost") !== undefined, b !== "o4", b);
      assert.ok(m.getChild("delay", "urn:xmpp:delay"));
    }
    await until("offline", offlineCount(server, "bob"), 0);
    // A query after presence changes nothing for the replay already done.
    const r = await mamQuery(bob);
    assert.deepEqual(r.bodies, ["o1", "o2", "o3"]);
  });
});

Deno.test("mam+offline: a query about one contact, or one that failed, changes no replay", async () => {
  await withOfflineBob(false, async (server, _alice, bob) => {
    const one = await mamQuery(bob, { fields: { with: "alice@localhost" } });
    assert.equal(one.results.length, 3);
    const failed = await mamQuery(bob, { fields: { "after-id": "nope" } });
    assert.equal(failed.iq.attrs.type, "error");
    bob.send("<presence/>");
    for (const b of ["o1", "o2", "o3", "o4"]) {
      await bob.stanza((e) => e.getChildText("body") === b);
    }
    await until("offline", offlineCount(server, "bob"), 0);
  });
});

Deno.test("mam: retention expires old messages (sweep driven by the mam/expire event)", async () => {
  const server = await startTestServer({ mam: { retentionDays: 1 } });
  try {
    const now = Date.now();
    await seed(server, "alice", 3, { base: now - 2 * 86_400_000, prefix: "old" });
    await seed(server, "bob", 2, { base: now - 3 * 86_400_000, prefix: "old" });
    await seed(server, "alice", 2, { base: now - 60_000, prefix: "new" });
    const ev: { expired?: number } = {};
    assert.equal(await server.hosts.get("localhost")!.events.fire("mam/expire", ev), true);
    assert.equal(ev.expired, 5);
    const left = await archiveOf(server).find("alice");
    assert.deepEqual(left.map((i) => i.id), ["newm0", "newm1"]);
    assert.equal(await archiveOf(server).count("bob"), 0);
    // Offline messages are not the archive's to expire.
    await server.storage.archive("localhost", "offline").append("alice", {
      when: now - 5 * 86_400_000,
      value: { stanza: "<message/>" },
    });
    await server.hosts.get("localhost")!.events.fire("mam/expire", ev);
    assert.equal(ev.expired, 0);
    assert.equal(await server.storage.archive("localhost", "offline").count("alice"), 1);
  } finally {
    await server.stop();
  }
});

Deno.test("mam: retentionDays 0 keeps everything", async () => {
  const server = await startTestServer({ mam: { retentionDays: 0 } });
  try {
    await seed(server, "alice", 2, { base: 1000 });
    const ev: { expired?: number } = {};
    await server.hosts.get("localhost")!.events.fire("mam/expire", ev);
    assert.equal(ev.expired, 0);
    assert.equal(await archiveOf(server).count("alice"), 2);
  } finally {
    await server.stop();
  }
});

Deno.test("mam: past maxMessagesPerUser messages are delivered, not archived", async () => {
  const { server, alice, bob } = await startWithAliceAndBob({ mam: { maxMessagesPerUser: 3 } });
  try {
    await seed(server, "bob", 2);
    for (const b of ["q1", "q2", "q3"]) alice.send(chat("bob@localhost", b));
    const got = [];
    for (const b of ["q1", "q2", "q3"]) {
      got.push(await bob.stanza((e) => e.getChildText("body") === b));
    }
    assert.deepEqual(got.map((m) => stanzaId(m, "bob@localhost") !== undefined), [
      true,
      false,
      false,
    ]);
    assert.equal(await archiveOf(server).count("bob"), 3);
    // Alice's own archive had room for all three.
    await until("archived", () => archiveOf(server).count("alice"), 3);
  } finally {
    alice.close();
    bob.close();
    await server.stop();
  }
});

Deno.test("mam: the archive and preferences go with the account", async () => {
  const { server, alice, bob } = await startWithAliceAndBob({ registration: { enabled: true } });
  try {
    await iq(alice, "p", `<iq type='set' id='p'><prefs xmlns='${NS_MAM}' default='always'/></iq>`);
    alice.send(chat("bob@localhost", "bye"));
    await bob.stanza((e) => e.getChildText("body") === "bye");
    await until("archived", () => archiveOf(server).count("alice"), 1);
    await until("archived", () => archiveOf(server).count("bob"), 1);
    assert.ok(await server.storage.keyval("localhost", "mam_prefs").get("alice"));
    alice.send(
      `<iq type='set' id='rm'><query xmlns='jabber:iq:register'><remove/></query></iq>`,
    );
    await alice.waitClosed();
    assert.equal(await archiveOf(server).count("alice"), 0);
    assert.equal(await server.storage.keyval("localhost", "mam_prefs").get("alice"), undefined);
    // Bob's copy is bob's.
    assert.equal(await archiveOf(server).count("bob"), 1);
  } finally {
    alice.close();
    bob.close();
    await server.stop();
  }
});

Deno.test("mam: messages over s2s are archived on both sides; forged ids from a peer stripped", async () => {
  const [a, b] = await serverPair();
  const alice = await loginAt(a, "alice", "wonderland", "a.test");
  const bob = await loginAt(b, "bob", "builder", "b.test");
  const peer = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test");
  try {
    alice.send(chat("bob@b.test", "over-s2s"));
    const got = await bob.stanza((e) => e.getChildText("body") === "over-s2s");
    const ids = got.getChildren("stanza-id", NS_SID);
    // Only bob's archive id; alice's stayed at a.test.
    assert.deepEqual(ids.map((s) => s.attrs.by), ["bob@b.test"]);
    const rb = await mamQuery(bob, { fields: { with: "alice@a.test" } });
    assert.deepEqual(rb.bodies, ["over-s2s"]);
    assert.equal(rb.ids[0], ids[0].attrs.id);
    const ra = await mamQuery(alice, { fields: { with: "bob@b.test" } });
    assert.deepEqual(ra.bodies, ["over-s2s"]);

    // A peer claiming an id in bob's archive: stripped, then stamped for real.
    await peer.dialback((id) => a.s2s!.manager.keys.generate("b.test", "a.test", id));
    peer.send(
      `<message from='carol@a.test/x' to='bob@b.test' type='chat' id='f'><body>forged</body>` +
        `<stanza-id xmlns='${NS_SID}' by='bob@b.test' id='evil'/></message>`,
    );
    const f = await bob.stanza((e) => e.getChildText("body") === "forged");
    const fids = f.getChildren("stanza-id", NS_SID);
    assert.equal(fids.length, 1);
    assert.notEqual(fids[0].attrs.id, "evil");
    const rc = await mamQuery(bob, { fields: { with: "carol@a.test" } });
    assert.deepEqual(rc.ids, [fids[0].attrs.id]);
  } finally {
    peer.close();
    alice.close();
    bob.close();
    await a.stop();
    await b.stop();
  }
});
