/**
 * The chunked SQLite archive (schema.ts V4) against the memory driver,
 * which keeps one entry per item: the same appends (several owners and
 * `with`s, equal and out-of-order times, given, generated and timed ids,
 * spread over several write batches so chunks form, fill and split) and
 * then the same queries must give the same items in the same order and
 * the same counts; deletes and expiry must leave the same archives.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import type { ArchiveQuery, ArchiveStore } from "../../src/storage/types.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { SqliteStorage } from "../../src/storage/sqlite.ts";
import { newArchiveId } from "../../src/storage/schema.ts";
import { CHUNK_MAX_ITEMS, CHUNK_SPAN_MS } from "../../src/storage/archive_chunk.ts";
import { seededRandom } from "../helpers/fuzz.ts";

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

async function withDrivers(
  fn: (a: { mem: MemoryStorage; sql: SqliteStorage; file: string }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "parley-chunks-" });
  const file = join(dir, "db.sqlite");
  const mem = new MemoryStorage();
  const sql = new SqliteStorage(file);
  try {
    await fn({ mem, sql, file });
  } finally {
    await sql.close();
    await mem.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const USERS = ["alice", "bob"];
const WITHS = ["x@h", "y@h", "z@h", undefined];

/** Appends the same random items to both stores; returns every id per user. */
async function fill(
  rand: () => number,
  stores: ArchiveStore[],
  count: number,
): Promise<Map<string, string[]>> {
  const ids = new Map<string, string[]>(USERS.map((u) => [u, []]));
  /** Per user and millisecond, the `with` of the items there (see below). */
  const used = new Map<string, string | undefined>();
  let now = 1_000_000;
  for (let i = 0; i < count; i++) {
    // Mostly forward in small steps, sometimes equal, sometimes back, sometimes a jump.
    const r = rand();
    now += r < 0.3 ? 0 : r < 0.9 ? Math.floor(rand() * 20) : r < 0.95 ? -50 : 500;
    const user = USERS[Math.floor(rand() * USERS.length)];
    const w = WITHS[Math.floor(rand() * WITHS.length)];
    // Equal times keep insertion order within one `with` only: items of
    // different `with`s in one millisecond are ordered as their chunks
    // were written (sqlite_archive.ts), which the memory driver cannot
    // know. So one millisecond of a user holds one `with` here.
    while (used.has(`${user} ${now}`) && used.get(`${user} ${now}`) !== w) now++;
    used.set(`${user} ${now}`, w);
    const kind = rand();
    const item = kind < 0.6
      ? { id: newArchiveId(now), when: now, generated: true }
      : kind < 0.8
      ? { id: `plain-${i}`, when: now }
      : kind < 0.9
      ? { id: newArchiveId(now - 7), when: now } // timed shape, another time: untimed
      : { id: newArchiveId(now), when: now }; // timed, checked as given
    const full = { ...item, with: w, value: { i, text: "m".repeat(i % 7) } };
    const got = await Promise.all(stores.map((s) => s.append(user, full)));
    assert.equal(got[0], got[1]);
    ids.get(user)!.push(item.id);
    // A batch ends now and then (a turn, so the SQLite driver commits).
    if (rand() < 0.05) await nextTurn();
  }
  return ids;
}

function randomQuery(rand: () => number, ids: string[]): ArchiveQuery {
  const q: ArchiveQuery = {};
  const pick = () => ids[Math.floor(rand() * ids.length)];
  if (rand() < 0.4) q.with = WITHS[Math.floor(rand() * 3)];
  if (rand() < 0.3) q.start = 1_000_000 + Math.floor(rand() * 8000);
  if (rand() < 0.3) q.end = 1_000_000 + Math.floor(rand() * 12000);
  if (rand() < 0.3) q.after = rand() < 0.9 ? pick() : "no-such-id";
  if (rand() < 0.3) q.before = pick();
  if (rand() < 0.1) q.ids = [pick(), pick(), pick(), "nope", newArchiveId(1_000_050)];
  if (rand() < 0.7) q.limit = Math.floor(rand() * 60);
  if (rand() < 0.5) q.reverse = true;
  return q;
}

Deno.test("archive chunks: finds and counts equal the memory driver's over random appends", () =>
  withDrivers(async ({ mem, sql }) => {
    const rand = seededRandom(7);
    const a = mem.archive("h", "mam");
    const b = sql.archive("h", "mam");
    const ids = await fill(rand, [a, b], 3000);
    await nextTurn();
    for (let i = 0; i < 600; i++) {
      const user = USERS[i % USERS.length];
      const q = randomQuery(rand, ids.get(user)!);
      const label = JSON.stringify(q);
      assert.deepEqual(await b.find(user, q), await a.find(user, q), `find ${label}`);
      assert.equal(await b.count(user, q), await a.count(user, q), `count ${label}`);
    }
  }));

Deno.test("archive chunks: deletes and expiry leave what the memory driver leaves", () =>
  withDrivers(async ({ mem, sql }) => {
    const rand = seededRandom(11);
    const a = mem.archive("h", "mam");
    const b = sql.archive("h", "mam");
    const ids = await fill(rand, [a, b], 1500);
    for (let i = 0; i < 40; i++) {
      const user = USERS[i % USERS.length];
      const q = randomQuery(rand, ids.get(user)!);
      assert.equal(await b.delete(user, q), await a.delete(user, q), JSON.stringify(q));
    }
    assert.equal(await b.expire(1_004_000), await a.expire(1_004_000));
    for (const user of USERS) {
      assert.deepEqual(await b.find(user), await a.find(user));
      // The archive still takes appends, and old ids stay unique.
      const left = await a.find(user, { limit: 1 });
      if (left[0]) {
        await assert.rejects(b.append(user, { id: left[0].id, value: 0 }), /already exists/);
      }
    }
  }));

Deno.test("archive chunks: one batch's items of an owner and `with` share rows", () =>
  withDrivers(async ({ sql, file }) => {
    const b = sql.archive("h", "mam");
    const when = 5_000_000;
    // One batch: 600 items at one time, two `with`s → ceil(300/256) rows each.
    for (let i = 0; i < 600; i++) {
      b.append("u", { when, with: i % 2 ? "x@h" : "y@h", value: i, generated: false });
    }
    // Next batch: items past the span start a new chunk.
    await nextTurn();
    await b.append("u", { when: when + CHUNK_SPAN_MS + 1, with: "x@h", value: "late" });
    sql.flush(); // not waiting for the group commit
    const db = new DatabaseSync(file);
    try {
      const rows = db.prepare("SELECT with_jid, n FROM archive_chunk ORDER BY seq").all()
        .map((r) => [r.with_jid, r.n]);
      assert.deepEqual(rows, [
        ["y@h", CHUNK_MAX_ITEMS],
        ["x@h", CHUNK_MAX_ITEMS],
        ["y@h", 300 - CHUNK_MAX_ITEMS],
        ["x@h", 300 - CHUNK_MAX_ITEMS],
        ["x@h", 1],
      ]);
    } finally {
      db.close();
    }
    const items = await b.find("u", { with: "x@h" });
    assert.equal(items.length, 301);
    assert.deepEqual(items.map((i) => i.value).slice(0, 3), [1, 3, 5]);
    assert.equal(items[300].value, "late");
    // Equal times: the y@h chunk was written first, so all of it comes
    // before these x@h items and none falls between them.
    const between = { after: items[10].id, before: items[20].id };
    assert.equal(await b.count("u", between), 9);
    assert.deepEqual(await b.find("u", between), items.slice(11, 20));
  }));
