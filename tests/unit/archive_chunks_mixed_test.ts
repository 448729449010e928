/**
 * The chunked SQLite archive against the memory driver under mixed work:
 * appends, queries, deletes, expiry and deleteUser interleaved inside
 * write batches (reads and deletes materialize open chunks mid-batch) and
 * across them, over two stores; queries with bounds at and around stored
 * times and chunk spans (equal, ±1, ±CHUNK_SPAN_MS, fractional, infinite).
 * Every result and every error must be the memory driver's.
 */
import assert from "node:assert/strict";
import type { ArchiveAppend, ArchiveQuery, ArchiveStore } from "../../src/storage/types.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { SqliteStorage } from "../../src/storage/sqlite.ts";
import { newArchiveId } from "../../src/storage/schema.ts";
import { CHUNK_SPAN_MS } from "../../src/storage/archive_chunk.ts";
import { seededRandom } from "../helpers/fuzz.ts";

const nextTurn = () => new Promise<void>((r) => setImmediate(r));
const USERS = ["alice", "bob", "carol"];
const STORES = ["mam", "offline"];
const WITHS = ["x@h", "y@h", undefined];

/** A settled promise as a comparable value: the result, or the error's message. */
async function outcome<T>(p: Promise<T>): Promise<{ ok: T } | { error: string }> {
  try {
    return { ok: await p };
  } catch (e) {
    return { error: String((e as Error).message) };
  }
}

class Mixed {
  readonly rand: () => number;
  now = 2_000_000;
  /** Per store and user, every [id, when] appended (deleted ones too). */
  readonly items = new Map<string, [string, number][]>();
  /** Per store, user and millisecond: the one `with` used there (see archive_chunks_test.ts). */
  readonly usedWith = new Map<string, string | undefined>();
  step = 0;

  constructor(seed: number, readonly mem: MemoryStorage, readonly sql: SqliteStorage) {
    this.rand = seededRandom(seed);
  }

  pick<T>(xs: T[]): T {
    return xs[Math.floor(this.rand() * xs.length)];
  }

  stores(store: string): [ArchiveStore, ArchiveStore] {
    return [this.mem.archive("h", store), this.sql.archive("h", store)];
  }

  known(store: string, user: string): [string, number][] {
    const k = `${store} ${user}`;
    let list = this.items.get(k);
    if (!list) this.items.set(k, list = []);
    return list;
  }

  async same<T>(label: string, run: (s: ArchiveStore) => Promise<T>, store: string) {
    const [a, b] = this.stores(store);
    const want = await outcome(run(a));
    const got = await outcome(run(b));
    assert.deepEqual(got, want, `step ${this.step}: ${label}`);
    return want;
  }

  async append(): Promise<void> {
    const r = this.rand();
    this.now += r < 0.3 ? 0 : r < 0.85 ? Math.floor(this.rand() * 30) : r < 0.93 ? -60 : 150;
    const store = this.pick(STORES);
    const user = this.pick(USERS);
    const w = this.pick(WITHS);
    let when = this.now;
    while (this.usedWith.has(`${store} ${user} ${when}`)) {
      if (this.usedWith.get(`${store} ${user} ${when}`) === w) break;
      when++;
    }
    this.usedWith.set(`${store} ${user} ${when}`, w);
    const list = this.known(store, user);
    const kind = this.rand();
    let item: Omit<ArchiveAppend, "value">;
    // Mostly generated ids (no duplicate check, so no materializing): the
    // live server's appends, which fill chunks.
    if (kind < 0.75) item = { id: newArchiveId(when), when, generated: true };
    else if (kind < 0.8) item = { when }; // the store makes the id
    else if (kind < 0.86) item = { id: `p${this.step}`, when };
    else if (kind < 0.9) item = { id: newArchiveId(when + 3), when }; // timed shape, untimed
    else if (kind < 0.95) item = { id: newArchiveId(when), when }; // timed, checked
    else if (list.length > 0) item = { id: this.pick(list)[0], when }; // maybe a duplicate
    else item = { id: `q${this.step}`, when };
    const full = { ...item, with: w, value: { step: this.step, s: "é".repeat(this.step % 5) } };
    const [a, b] = this.stores(store);
    const want = await outcome(a.append(user, full));
    // A store-made id differs between drivers: give SQLite the memory driver's.
    const got = await outcome(
      b.append(user, "ok" in want && !item.id ? { ...full, id: want.ok, generated: true } : full),
    );
    assert.deepEqual(got, want, `step ${this.step}: append ${JSON.stringify(full)}`);
    if ("ok" in want) list.push([want.ok, when]);
  }

  /** A time near a stored one or a chunk's reach, sometimes fractional or infinite. */
  time(list: [string, number][]): number {
    const r = this.rand();
    if (r < 0.03) return this.rand() < 0.5 ? -Infinity : Infinity;
    const base = list.length > 0 && r < 0.8 ? this.pick(list)[1] : 2_000_000 + this.rand() * 12_000;
    const d = this.pick([0, 0, 1, -1, CHUNK_SPAN_MS, -CHUNK_SPAN_MS, CHUNK_SPAN_MS + 1, 0.5, -0.5]);
    return Math.floor(base) + d;
  }

  query(store: string, user: string): ArchiveQuery {
    const list = this.known(store, user);
    const q: ArchiveQuery = {};
    const id = () => list.length > 0 && this.rand() < 0.95 ? this.pick(list)[0] : "nope";
    if (this.rand() < 0.35) q.with = this.pick(WITHS);
    if (this.rand() < 0.35) q.start = this.time(list);
    if (this.rand() < 0.35) q.end = this.time(list);
    if (this.rand() < 0.3) q.after = id();
    if (this.rand() < 0.3) q.before = id();
    if (this.rand() < 0.1) q.ids = [id(), id(), id(), newArchiveId(this.now)];
    if (this.rand() < 0.5) q.limit = Math.floor(this.rand() * 40);
    if (this.rand() < 0.5) q.reverse = true;
    return q;
  }

  async run(steps: number): Promise<void> {
    for (this.step = 0; this.step < steps; this.step++) {
      const r = this.rand();
      const store = this.pick(STORES);
      const user = this.pick(USERS);
      if (r < 0.62) {
        // A burst: one batch fills chunks of several owners and `with`s.
        const n = 1 + Math.floor(this.rand() * this.rand() * 40);
        for (let i = 0; i < n; i++) await this.append();
      } else if (r < 0.82) {
        // Awaiting a read is a microtask: the write batch stays open.
        const q = this.query(store, user);
        await this.same(`find ${JSON.stringify(q)}`, (s) => s.find(user, q), store);
        await this.same(`count ${JSON.stringify(q)}`, (s) => s.count(user, q), store);
      } else if (r < 0.88) {
        const q = this.rand() < 0.05 ? {} : this.query(store, user);
        await this.same(`delete ${JSON.stringify(q)}`, (s) => s.delete(user, q), store);
      } else if (r < 0.885) {
        const cutoff = this.now - Math.floor(this.rand() * 400);
        await this.same(`expire ${cutoff}`, (s) => s.expire(cutoff), store);
      } else if (r < 0.89) {
        await this.mem.deleteUser("h", user);
        await this.sql.deleteUser("h", user);
      } else if (r < 0.96) {
        await nextTurn(); // the batch commits
      }
    }
    for (const store of STORES) {
      for (const user of USERS) await this.same("all", (s) => s.find(user), store);
    }
  }
}

for (const seed of [1, 2, 3]) {
  Deno.test(`archive chunks: mixed work inside and across batches equals memory (seed ${seed})`, async () => {
    const mem = new MemoryStorage();
    const sql = new SqliteStorage(":memory:");
    try {
      await new Mixed(seed, mem, sql).run(600);
    } finally {
      await sql.close();
      await mem.close();
    }
  });
}
