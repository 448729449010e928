/**
 * Edge cases of the chunked SQLite archive (sqlite_archive.ts), each
 * against the memory driver or a known answer: times outside the id's 12
 * hex digits and at the ends of the safe integers, fractional bounds
 * inside a chunk, limits checked for users without an archive, a
 * "generated" id that is not timed, and every combination of bounds over
 * a small archive of overlapping, split and partly deleted chunks.
 */
import assert from "node:assert/strict";
import type { ArchiveQuery, ArchiveStore, StorageDriver } from "../../src/storage/types.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { SqliteStorage } from "../../src/storage/sqlite.ts";
import { newArchiveId } from "../../src/storage/schema.ts";
import { CHUNK_SPAN_MS } from "../../src/storage/archive_chunk.ts";

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

/** Runs `fn` on each driver in turn. */
async function eachDriver(fn: (d: StorageDriver) => Promise<void>): Promise<void> {
  for (const d of [new MemoryStorage(), new SqliteStorage(":memory:")]) {
    try {
      await fn(d);
    } catch (e) {
      throw new Error(`${d.name}: ${(e as Error).message}`, { cause: e });
    } finally {
      await d.close();
    }
  }
}

Deno.test("archive edges: a bad limit is refused for a user without an archive too", () =>
  eachDriver(async (d) => {
    const a = d.archive("h", "mam");
    await assert.rejects(a.find("nobody", { limit: -1 }), RangeError);
    await assert.rejects(a.count("nobody", { limit: NaN }), RangeError);
    await assert.rejects(a.delete("nobody", { limit: -1 }), RangeError);
  }));

Deno.test("archive edges: generated ids at times outside 12 hex digits are found by id", () =>
  eachDriver(async (d) => {
    const a = d.archive("h", "mam");
    const times = [-5, -1, 0, 2 ** 48 - 1, 2 ** 48, 2 ** 48 + 5];
    const ids: string[] = [];
    for (const when of times) ids.push(await a.append("u", { when, value: when }));
    const given = newArchiveId(-7);
    ids.splice(1, 0, await a.append("u", { id: given, when: -3, value: -3, generated: true }));
    await nextTurn();
    for (const [i, id] of ids.entries()) {
      assert.deepEqual((await a.find("u", { ids: [id] })).map((x) => x.id), [id]);
      assert.equal(await a.count("u", { after: id }), ids.length - 1 - i);
      assert.equal(await a.count("u", { before: id }), i);
      await assert.rejects(a.append("u", { id, value: 0 }), /already exists/);
    }
    assert.equal(await a.delete("u", { ids: [ids[0], ids[6]] }), 2);
    assert.equal(await a.count("u"), ids.length - 2);
  }));

Deno.test("archive edges: times at the ends of the safe integers are in every query", () =>
  eachDriver(async (d) => {
    const a = d.archive("h", "mam");
    const ends = [
      -Number.MAX_SAFE_INTEGER,
      -(2 ** 52) - 1,
      0,
      2 ** 52 + 1,
      Number.MAX_SAFE_INTEGER,
    ];
    for (const when of ends) await a.append("u", { id: `t${when}`, when, value: when });
    await nextTurn();
    assert.deepEqual((await a.find("u")).map((i) => i.when), ends);
    assert.deepEqual((await a.find("u", { reverse: true, limit: 2 })).map((i) => i.when), [
      Number.MAX_SAFE_INTEGER,
      2 ** 52 + 1,
    ]);
    assert.equal(await a.count("u"), 5);
    assert.equal(await a.count("u", { end: 10 }), 3);
    assert.equal(await a.count("u", { start: 10 }), 2);
    assert.equal(await a.count("u", { after: `t0` }), 2);
    assert.equal(await a.count("u", { before: `t0` }), 2);
    assert.equal(await a.expire(-(2 ** 52)), 2);
    assert.deepEqual((await a.find("u")).map((i) => i.when), ends.slice(2));
  }));

Deno.test("archive edges: fractional and infinite bounds count what they find, inside a chunk", () =>
  eachDriver(async (d) => {
    const a = d.archive("h", "mam");
    // One batch: items 10..30 share a chunk in SQLite.
    for (let when = 10; when <= 30; when++) a.append("u", { when, value: when, generated: false });
    await nextTurn();
    const queries: [ArchiveQuery, number][] = [
      [{ start: 10.5 }, 20],
      [{ end: 20.5 }, 11],
      [{ start: 12.5, end: 20.5 }, 8],
      [{ start: 9.5, end: 30.5 }, 21],
      [{ start: 29.5 }, 1],
      [{ end: 10.5 }, 1],
      [{ start: 20.2, end: 20.8 }, 0],
      [{ start: -Infinity, end: 20 }, 11],
      [{ start: 15, end: Infinity }, 16],
      [{ start: NaN }, 0],
    ];
    for (const [q, n] of queries) {
      assert.equal(await a.count("u", q), n, `count ${JSON.stringify(q)}`);
      assert.equal((await a.find("u", q)).length, n, `find ${JSON.stringify(q)}`);
    }
  }));

Deno.test("archive edges: a generated id that is not timed is still checked, and the batch survives", () =>
  eachDriver(async (d) => {
    const a = d.archive("h", "mam");
    await a.append("v", { id: "x", value: 0 });
    await nextTurn();
    // Same batch: another user's item, then a duplicate claimed as generated.
    const kept = a.append("w", { value: 1, generated: true });
    await assert.rejects(a.append("v", { id: "x", value: 2, generated: true }), /already exists/);
    await kept;
    await nextTurn(); // the batch commits
    assert.equal(await a.count("w"), 1);
    assert.deepEqual((await a.find("v")).map((i) => i.value), [0]);
  }));

/**
 * A small archive built to make chunks overlap, split and touch: bursts in
 * one batch over two `with`s (different milliseconds for each), an
 * out-of-order item that splits a chunk, items exactly CHUNK_SPAN_MS
 * apart, and equal times.
 */
async function craft(stores: ArchiveStore[]): Promise<string[]> {
  assert.equal(CHUNK_SPAN_MS, 100, "the plan's times are made for this span");
  const plan: [number, string | undefined][] = [
    [100, "x"],
    [100, "x"],
    [101, "y"],
    [150, "x"],
    [200, "x"],
    [201, "x"], // 200 - 100 = span
    [170, undefined],
    [171, "y"],
    [150, "x"],
    [150, "x"],
    [260, "x"],
    [300, "y"],
    [300, "y"],
  ];
  const ids: string[] = [];
  let i = 0;
  for (const batch of [plan, plan.map(([t, w]) => [t + 150, w] as [number, string | undefined])]) {
    for (const [when, w] of batch) {
      // Mostly generated (chunks fill); every sixth an untimed id, checked.
      const given = i % 6 === 5;
      const id = given ? `p${i}` : newArchiveId(when);
      ids.push(id);
      for (const s of stores) s.append("u", { id, when, with: w, value: i, generated: !given });
      i++;
    }
    await nextTurn();
  }
  return ids;
}

async function allQueriesAgree(mem: ArchiveStore, sql: ArchiveStore, ids: string[]) {
  const times = [undefined, 99, 100, 150, 200, 201, 250, 300, 351, 450];
  const marks = [undefined, ...ids.filter((_, i) => i % 3 === 0)];
  let checked = 0;
  for (const after of marks) {
    for (const before of marks) {
      for (const start of times) {
        for (const end of times) {
          if (start !== undefined && end !== undefined && end < start) continue;
          for (
            const [reverse, limit, w] of [[false, undefined, undefined], [true, 3, "x"]] as const
          ) {
            const q: ArchiveQuery = { after, before, start, end, reverse, limit, with: w };
            const label = JSON.stringify(q);
            assert.deepEqual(await sql.find("u", q), await mem.find("u", q), `find ${label}`);
            assert.equal(await sql.count("u", q), await mem.count("u", q), `count ${label}`);
            checked++;
          }
        }
      }
    }
  }
  assert.ok(checked > 1000);
}

Deno.test("archive edges: every bound combination over overlapping, split and cut chunks", async () => {
  const memory = new MemoryStorage();
  const sqlite = new SqliteStorage(":memory:");
  try {
    const mem = memory.archive("h", "mam");
    const sql = sqlite.archive("h", "mam");
    const ids = await craft([mem, sql]);
    assert.equal(await sql.count("u"), ids.length);
    await allQueriesAgree(mem, sql, ids);
    // Cut chunks at both ends (first_when and last_when rewritten) and in the middle.
    const cut = { ids: [ids[0], ids[5], ids[4], ids[9], ids[14], ids[25]] };
    assert.equal(await sql.delete("u", cut), await mem.delete("u", cut));
    await allQueriesAgree(mem, sql, ids);
    // Expiry through chunks straddling the cutoff.
    for (const cutoff of [151, 201, 301]) {
      assert.equal(await sql.expire(cutoff), await mem.expire(cutoff));
      assert.deepEqual(await sql.find("u"), await mem.find("u"));
    }
  } finally {
    await sqlite.close();
    await memory.close();
  }
});

Deno.test("archive edges: large items past the open-bytes bound keep order and ids in one batch", async () => {
  const memory = new MemoryStorage();
  const sqlite = new SqliteStorage(":memory:");
  try {
    const stores = [memory.archive("h", "mam"), sqlite.archive("h", "mam")];
    // Each big item is a chunk of its own, open until its owner and `with`
    // next append: 30 of them (2 users × 15 `with`s) pass the 16 MiB bound.
    const big = "b".repeat(700 * 1024);
    for (let i = 0; i < 60; i++) {
      const when = 1000 + i;
      const value = i % 5 === 0 ? `small ${i}` : `${i} ${big}`;
      const item = { id: newArchiveId(when), when, with: `w${i % 15}`, value, generated: true };
      for (const s of stores) s.append(i % 2 ? "u" : "v", item);
    }
    // Still the same batch: the reads see every item.
    for (const user of ["u", "v"]) {
      for (const q of [{}, { with: "w3", reverse: true }, { start: 1005, end: 1010, limit: 7 }]) {
        const [want, got] = await Promise.all(stores.map((s) => s.find(user, q)));
        assert.deepEqual(got.map((i) => i.id), want.map((i) => i.id));
        assert.deepEqual(got.map((i) => i.value), want.map((i) => i.value));
        assert.equal(await stores[1].count(user, q), want.length);
      }
    }
    await nextTurn();
    assert.equal(await stores[1].count("u"), 30);
  } finally {
    await sqlite.close();
    await memory.close();
  }
});
