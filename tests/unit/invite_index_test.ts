/**
 * The invite store's per-inviter index: creating an invite costs the
 * inviter's invites, not every stored one; the per-user limit holds;
 * expired and used-up invites still leave storage (by the paged sweep);
 * invites stored before the index (one record per token, nothing else)
 * keep working and count.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Json, MapStore } from "../../src/storage/types.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { SqliteStorage } from "../../src/storage/sqlite.ts";
import { type Invite, InviteStore, SWEEP_PAGE } from "../../src/modules/invites/store.ts";
import { randomId } from "../../src/util/random.ts";

const HOST = "example.org";
const ALICE = "alice@example.org";
const NOW = 1_000_000_000;
const live = { ttlMs: 60_000, uses: 1, roster: true };

/** A map store counting every call, by method and user. */
function counting(inner: MapStore) {
  const calls: string[] = [];
  const store: MapStore = {
    get: (user, key) => (calls.push(`get ${user}`), inner.get(user, key)),
    set: (user, key, value) => (calls.push(`set ${user}`), inner.set(user, key, value)),
    getAll: (user) => (calls.push(`getAll ${user}`), inner.getAll(user)),
    clear: (user) => (calls.push(`clear ${user}`), inner.clear(user)),
    getPage: (
      user,
      after,
      limit,
    ) => (calls.push(`page ${user}`), inner.getPage(user, after, limit)),
  };
  return { store, calls };
}

/** A record as the store wrote it before the index: one key per token, nothing else. */
function oldRecord(inviter: string, expires: number, usesLeft = 1): Invite {
  return { token: randomId(22), inviter, created: 0, expires, usesLeft, roster: true };
}

async function writeOld(map: MapStore, invites: Invite[]): Promise<void> {
  for (const i of invites) await map.set("", i.token, i as unknown as Json);
}

Deno.test("invite index: creating an invite costs the inviter's invites, not all of them", async () => {
  const callsWith = async (others: number) => {
    const { store: map, calls } = counting(new MemoryStorage().map(HOST, "invites"));
    const store = new InviteStore(map);
    for (let i = 0; i < 3; i++) await store.create({ ...live, inviter: ALICE }, NOW);
    for (let i = 0; i < others; i++) {
      await store.create({ ...live, inviter: `u${i % 50}@example.org` }, NOW);
    }
    await store.sweep(NOW); // the once-per-host indexing walk, done by the server at start
    calls.length = 0;
    assert.ok(await store.createBounded({ ...live, inviter: ALICE }, 10, NOW));
    return [...calls];
  };
  const few = await callsWith(5);
  const many = await callsWith(2000);
  assert.deepEqual(many, few, "the same storage calls whatever the others hold");
  assert.ok(!many.some((c) => c === "getAll " || c === "page "), "no walk of every invite");
  // Her index, one read per invite of hers, two writes for the new one.
  assert.equal(many.length, 1 + 3 + 2, many.join());
});

Deno.test("invite index: the per-inviter limit holds; expired and used invites make room", async () => {
  const store = new InviteStore(new MemoryStorage().map(HOST, "invites"));
  const opts = { ...live, inviter: ALICE };
  const made: Invite[] = [];
  for (let i = 0; i < 3; i++) made.push((await store.createBounded(opts, 3, NOW))!);
  assert.ok(made.every((i) => i !== undefined));
  assert.equal(await store.createBounded(opts, 3, NOW), undefined, "at the limit");
  assert.ok(await store.createBounded({ ...opts, inviter: "bob@example.org" }, 3, NOW));
  const short = await store.create({ ...opts, ttlMs: 10 }, NOW); // admin-made, still hers
  assert.equal(await store.createBounded(opts, 3, NOW + 5), undefined, "it counts");
  assert.ok(await store.createBounded(opts, 4, NOW + 10), "expired: no longer counted");
  assert.ok(!(await store.list()).some((i) => i.token === short.token), "and deleted");
  assert.equal(await store.createBounded(opts, 4, NOW + 10), undefined);
  assert.ok(await store.take(made[0].token, NOW + 10));
  assert.ok(await store.createBounded(opts, 4, NOW + 10), "a used invite no longer counts");
  // A use given back counts again.
  const taken = (await store.take(made[1].token, NOW + 10))!;
  await store.giveBack(taken);
  assert.equal(await store.createBounded(opts, 4, NOW + 10), undefined);
  // Admins have no limit and no count.
  assert.ok(await store.createBounded(opts, Infinity, NOW + 10));
});

Deno.test("invite index: the sweep deletes expired and used invites a page at a time", async () => {
  const memory = new MemoryStorage().map(HOST, "invites");
  const { store: map, calls } = counting(memory);
  const store = new InviteStore(map);
  const n = SWEEP_PAGE * 2 + 7;
  for (let i = 0; i < n; i++) {
    await store.create({ ...live, inviter: ALICE, ttlMs: i % 2 ? 10 : 60_000 }, NOW);
  }
  const kept = await store.create({ ...live, inviter: "bob@example.org", uses: 2 }, NOW);
  await writeOld(memory, [oldRecord("carol@example.org", NOW + 60_000, 0)]); // used up, old layout
  assert.ok(await store.take(kept.token, NOW));
  calls.length = 0;
  assert.equal(await store.sweep(NOW + 10), Math.floor(n / 2) + 1);
  assert.ok(!calls.includes("getAll "), "never read whole");
  // One walk (indexing the records as it sweeps), the last page short.
  assert.equal(calls.filter((c) => c === "page ").length, Math.floor((n + 2) / SWEEP_PAGE) + 1);
  const left = await store.list();
  assert.equal(left.length, Math.ceil(n / 2) + 1);
  assert.ok(left.every((i) => i.expires > NOW + 10 && i.usesLeft > 0));
  // The index lost the swept ones too.
  assert.equal((await memory.getAll(`inviter:${ALICE}`)).size, Math.ceil(n / 2));
  assert.equal((await memory.getAll("inviter:carol@example.org")).size, 0);
  assert.equal(await store.sweep(NOW + 10), 0);
});

for (const driver of ["memory", "sqlite"] as const) {
  Deno.test(`invite index: invites stored before the index keep working (${driver})`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "parley-invites-" });
    const file = join(dir, "test.sqlite");
    const memoryDb = new MemoryStorage();
    const open = () => driver === "memory" ? memoryDb : new SqliteStorage(file);
    try {
      // Written by the old store: records only.
      let db = open();
      const mine = [1, 2, 3].map(() => oldRecord(ALICE, NOW + 60_000));
      const expired = oldRecord(ALICE, NOW - 1);
      const usedUp = oldRecord(ALICE, NOW + 60_000, 0);
      const bobs = oldRecord("bob@example.org", NOW + 60_000);
      await writeOld(db.map(HOST, "invites"), [...mine, expired, usedUp, bobs]);
      if (driver === "sqlite") {
        await db.close();
        db = open();
      }

      const { store: map, calls } = counting(db.map(HOST, "invites"));
      const store = new InviteStore(map);
      assert.equal((await store.valid(mine[0].token, NOW))?.inviter, ALICE, "looked up as before");
      assert.ok(await store.createBounded({ ...live, inviter: ALICE }, 4, NOW), "3 old + 1");
      assert.equal(
        await store.createBounded({ ...live, inviter: ALICE }, 4, NOW),
        undefined,
        "old invites count toward the limit",
      );
      const tokens = (await store.list()).map((i) => i.token);
      assert.ok(
        !tokens.includes(expired.token) && !tokens.includes(usedUp.token),
        "dead ones gone",
      );
      assert.ok(await store.take(mine[1].token, NOW), "an old invite is redeemed");
      assert.ok(await store.createBounded({ ...live, inviter: ALICE }, 4, NOW), "and makes room");
      assert.ok(await store.take(bobs.token, NOW));

      // The index is built once per host: a new process does not walk again.
      if (driver === "sqlite") {
        await db.close();
        db = open();
      }
      const again = counting(db.map(HOST, "invites"));
      const later = new InviteStore(again.store);
      assert.equal(await later.createBounded({ ...live, inviter: ALICE }, 4, NOW), undefined);
      assert.ok(!again.calls.some((c) => c === "page " || c === "getAll "), again.calls.join());
      assert.ok(calls.includes("page "), "the first one did");
      await db.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
