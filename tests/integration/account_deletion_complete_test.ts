/**
 * An account removed in-band leaves nothing of it in any store: every
 * store a module keeps per user is filled (in-band where a client makes
 * the data, directly where a login flow would only slow the test), the
 * rooms, nodes and contacts of other users name it, and afterwards the
 * SQLite file is read row by row: nothing keyed by the user is left, and
 * whatever still names its JID is only what other users keep of their own
 * (their archives of conversations with it, a room's history).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { iq, type TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { onlineLogin } from "../helpers/online.ts";
import { seedRoster } from "../helpers/pep.ts";
import { admin, configure, createRoom, MUC, registerNick } from "../helpers/muc.ts";
import { ps, PUBSUB } from "../helpers/pubsub.ts";
import { publishXml } from "../helpers/pep.ts";
import { INVITES_STORE, InviteStore } from "../../src/modules/invites/store.ts";
import { DEFAULT_MODULES } from "../../src/config/schema.ts";
import { SqliteStorage } from "../../src/storage/sqlite.ts";
import type { StorageDriver } from "../../src/storage/types.ts";
import { dropConnection, smLogin, until } from "../helpers/sm.ts";
import { runParley } from "../helpers/parley_process.ts";

const MAIN = join(import.meta.dirname!, "..", "..", "main.ts");
const USERS = { alice: "wonderland", bob: "builder" };
const login = onlineLogin(USERS);
const ALICE = "alice@localhost";

/** Every per-user store of a user host that the modules use, filled for `user`. */
async function fillStores(server: TestServer, user: string): Promise<void> {
  const s = server.storage;
  const h = "localhost";
  await s.keyval(h, "vcard").set(user, "<vCard xmlns='vcard-temp'><FN>A</FN></vCard>");
  await s.keyval(h, "lastlog").set(user, { when: 1, status: "gone" });
  await s.keyval(h, "mam_prefs").set(user, { default: "always", always: [], never: [] });
  await s.map(h, "private").set(user, "ex:a", "<a xmlns='ex:a'/>");
  await s.map(h, "blocking").set(user, "spam@example.com", true);
  await s.map(h, "push").set(user, "push.example.com\0node", { jid: "push.example.com" });
  await s.map(h, "fast_tokens").set(user, "agent", [{ token: "t", expires: 1 }]);
  await s.archive(h, "offline").append(user, { value: "<message/>" });
  await new InviteStore(s.map(h, INVITES_STORE)).create({
    inviter: `${user}@${h}`,
    ttlMs: 86_400_000,
    uses: 1,
    roster: true,
  });
}

/** Bob's roster item for alice: what is left of their subscriptions. */
async function bobsItemForAlice(storage: StorageDriver): Promise<unknown> {
  const roster = await storage.keyval("localhost", "roster").get("bob");
  const items = (roster as { items: { jid: string; subscription: string; ask?: string }[] })
    .items;
  const item = items.find((i) => i.jid === ALICE);
  return item && { subscription: item.subscription, ask: item.ask };
}

interface Leftover {
  table: string;
  host: string;
  user: string;
  store: string;
  key?: string;
}

/** The rows of the database that belong to `user` or name `jid`. */
function leftovers(file: string, user: string, jid: string): Leftover[] {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const like = `%${jid}%`;
    const kv = db.prepare(
      `SELECT 'keyval' AS "table", host, "user", store FROM keyval
       WHERE "user" = ? OR value LIKE ?`,
    ).all(user, like);
    const map = db.prepare(
      `SELECT 'map' AS "table", host, "user", store, key FROM map
       WHERE ("user" = ? OR "user" LIKE ? OR key LIKE ? OR value LIKE ?)
         AND store <> 'tombstones'`,
    ).all(user, like, like, like);
    const archive = db.prepare(
      `SELECT DISTINCT 'archive' AS "table", o.host, o."user", o.store FROM archive_chunk c
       JOIN archive_owner o ON o.id = c.owner WHERE o."user" = ?`,
    ).all(user);
    return [...kv, ...map, ...archive] as unknown as Leftover[];
  } finally {
    db.close();
  }
}

Deno.test("an account removed in-band leaves nothing of it in any store", async () => {
  const server = await startTestServer(
    {
      storage: { driver: "sqlite" },
      modules: [...DEFAULT_MODULES, "invites"],
      muc: { enabled: true },
      accounts: { tombstoneDays: 1 },
    },
    USERS,
  );
  const clients: TestClient[] = [];
  let stopped = false;
  try {
    await seedRoster(server, "alice", [{ jid: "bob@localhost", subscription: "both" }]);
    await seedRoster(server, "bob", [{ jid: ALICE, subscription: "both" }]);
    await fillStores(server, "alice");
    const alice = await login(server, "alice");
    const bob = await login(server, "bob");
    clients.push(alice, bob);

    // MAM (both archives) and PEP.
    alice.send(`<message to='bob@localhost' type='chat' id='m1'><body>hi</body></message>`);
    await bob.stanza((e) => e.name === "message" && e.attrs.id === "m1");
    const pub = await iq(alice, "p1", publishXml("p1", "ex:n", "i1", "<v xmlns='ex'/>"));
    assert.equal(pub.attrs.type, "result", pub.toString());

    // MUC: alice owns a room, is a member and a registered nick of bob's.
    await createRoom(alice, `a1@${MUC}`, "Alice", { persistentroom: "1" });
    await createRoom(bob, `b1@${MUC}`, "Bob", { persistentroom: "1", membersonly: "1" });
    const member = await admin(bob, `b1@${MUC}`, `<item affiliation='member' jid='${ALICE}'/>`);
    assert.equal(member.attrs.type, "result", member.toString());
    const reg = await registerNick(alice, `b1@${MUC}`, "r1", "Ally");
    assert.equal(reg.attrs.type, "result", reg.toString());
    await configure(bob, `b1@${MUC}`, {});

    // Pubsub service: alice owns a node and subscribes to bob's.
    const own = await ps(alice, "set", `<create node='anode'/>`);
    assert.equal(own.attrs.type, "result", own.toString());
    const bobs = await ps(bob, "set", `<create node='bnode'/>`);
    assert.equal(bobs.attrs.type, "result", bobs.toString());
    const sub = await ps(alice, "set", `<subscribe node='bnode' jid='${ALICE}'/>`);
    assert.equal(sub.attrs.type, "result", sub.toString());
    void PUBSUB;

    alice.send(`<iq type='set' id='rm'><query xmlns='jabber:iq:register'><remove/></query></iq>`);
    assert.equal(await alice.streamError(), "not-authorized");
    // Both of bob's subscriptions with alice end (RFC 6121 §2.5.2 as
    // XEP-0077 §3.2 applies it); the item stays his, with subscription none.
    await bob.stanza((e) => e.name === "presence" && e.attrs.type === "unsubscribed");
    assert.deepEqual(await bobsItemForAlice(server.storage), {
      subscription: "none",
      ask: undefined,
    });
    bob.close();
    clients.length = 0;
    await server.close();
    stopped = true;

    const found = leftovers(join(server.dataDir, "parley.sqlite"), "alice", ALICE)
      // Bob's archive of his conversation with alice, and his roster item
      // for her, are bob's.
      .filter((r) => !(r.user === "bob" && (r.store === "archive" || r.store === "roster")))
      .map((r) => `${r.host} ${r.store} ${r.user}/${r.key ?? ""}`);
    // Rooms and nodes keep naming the JID (its affiliations, its nick, its
    // subscription), as Prosody's do: the tombstone (core/tombstones.ts) is
    // what keeps a later account of the name from inheriting them.
    assert.deepEqual(found.sort(), [
      "conference.localhost muc_rooms /a1",
      "conference.localhost muc_rooms /b1",
      "pubsub.localhost pubsub_extras /bnode",
      "pubsub.localhost pubsub_nodes /anode",
      "pubsub.localhost pubsub_nodes /bnode",
    ]);
  } finally {
    for (const c of clients) c.close();
    if (!stopped) await server.close();
    await Deno.remove(server.dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("parley deluser offline leaves nothing of the account, and ends its subscriptions", async () => {
  const server = await startTestServer({ storage: { driver: "sqlite" } }, USERS);
  const config = join(server.dataDir, "deluser-config.json");
  let stopped = false;
  try {
    await seedRoster(server, "alice", [{ jid: "bob@localhost", subscription: "both" }]);
    await seedRoster(server, "bob", [{ jid: ALICE, subscription: "both" }]);
    await fillStores(server, "alice");
    await server.close();
    stopped = true;
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        hosts: ["localhost"],
        dataDir: server.dataDir,
        storage: { driver: "sqlite" },
      }),
    );
    const r = await runParley(MAIN, ["deluser", ALICE, "-c", config], { cwd: server.dataDir });
    assert.equal(r.code, 0, r.stderr);

    const found = leftovers(join(server.dataDir, "parley.sqlite"), "alice", ALICE)
      .filter((r) => !(r.user === "bob" && r.store === "roster"))
      .map((r) => `${r.host} ${r.store} ${r.user}/${r.key ?? ""}`);
    assert.deepEqual(found, []);
    // As the running server's removal does (the first test): bob's item
    // stays, with neither subscription (a later alice must not inherit them).
    const storage = new SqliteStorage(join(server.dataDir, "parley.sqlite"));
    try {
      assert.deepEqual(await bobsItemForAlice(storage), { subscription: "none", ask: undefined });
    } finally {
      await storage.close();
    }
  } finally {
    if (!stopped) await server.close();
    await Deno.remove(server.dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("messages a removed account's sessions never acknowledged do not outlive it offline", async () => {
  const server = await startTestServer({}, USERS);
  try {
    // One session hibernated, one live, both with unacknowledged messages.
    const asleep = await smLogin(server, "alice", USERS.alice, "asleep");
    const awake = await smLogin(server, "alice", USERS.alice, "awake");
    const bob = await login(server, "bob");
    for (let i = 0; i < 3; i++) {
      bob.send(`<message to='alice@localhost' type='chat' id='u${i}'><body>${i}</body></message>`);
    }
    for (const c of [asleep.c, awake.c]) {
      await c.stanza((e) => e.name === "message" && e.attrs.id === "u2");
    }
    await dropConnection(server, asleep.c);
    awake.c.send(
      `<iq type='set' id='rm'><query xmlns='jabber:iq:register'><remove/></query></iq>`,
    );
    assert.equal(await awake.c.streamError(), "not-authorized");
    await until(() => server.sessions.resources("localhost", "alice").length === 0, "sessions");
    // Whatever the sessions' ends still write lands before this read.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await server.storage.archive("localhost", "offline").count("alice"), 0);
    bob.close();
  } finally {
    await server.stop();
  }
});
