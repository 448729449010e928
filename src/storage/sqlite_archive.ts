/**
 * The SQLite archive store, in chunks (schema.ts V4, archive_chunk.ts).
 *
 * Appends do no SQL: each lands in the open chunk of its (owner, with)
 * in memory, and the chunks are written when the driver commits the
 * batch, or earlier when one fills up or an archive read needs them
 * (`materialize`: reads always see every append before them). So under
 * load a row and its two index entries carry dozens of items, and a quiet
 * server writes an item per row as before.
 *
 * Queries are archive_query.ts's; this file writes: appends, deletes,
 * retention, account removal.
 */
import type { StatementSync } from "node:sqlite";
import type { ArchiveItem, ArchiveQuery, ArchiveStore } from "./types.ts";
import { duplicateIdError, prepareArchiveItem, queryLimit } from "./schema.ts";
import {
  CHUNK_SPAN_MS,
  chunkText,
  itemHead,
  type Located,
  OpenChunk,
  type StoredItem,
} from "./archive_chunk.ts";
import { ArchiveQueries } from "./archive_query.ts";

/** What the archive needs of the driver (sqlite.ts). */
export interface SqlAccess {
  /** A prepared statement, cached by its text. */
  stmt(sql: string): StatementSync;
  read<T>(fn: () => T): Promise<T>;
  /** `run` inside the batch's transaction, after `prepare` outside it. */
  write<P, T>(prepare: () => P, run: (prepared: P) => T): Promise<T>;
  /** Commits the open batch now. */
  flush(): void;
  /** The driver's group-commit interval: expire pauses at least that long between steps. */
  readonly commitIntervalMs: number;
}

/**
 * Bytes the open chunks of a batch may hold before they are written into
 * the transaction (a batch has at most 4 096 writes, but items can be
 * large: 4 096 stanzas of 256 KiB would be a gigabyte).
 */
const OPEN_BYTES_MAX = 16 * 1024 * 1024;

/** Cached archive owner ids per (host, store): 16 bytes of id and a username each. */
const OWNER_CACHE_MAX = 100_000;

/**
 * What one `expire` step (its deletes and its commit) may take: the step
 * size, in chunks, follows the time the previous one took. Expired rows are
 * scattered over every owner's index ranges, so a row costs several page
 * writes: measured 100–500 µs per row at 1 000 000 rows on the bench VM
 * (bench/results/2026-12-06-archive-writes.md), far from constant.
 */
const EXPIRE_TURN_MS = 5;
const EXPIRE_CHUNK = { first: 50, min: 10, max: 2000 };

/**
 * Pause between expiry steps beyond the commit interval. Expiry is
 * background work: without a pause its steps merged into large commits
 * (hundreds of ms each) and outran the checkpointer until the main
 * connection's own safety-net checkpoint stalled the loop for 300–700 ms.
 */
const EXPIRE_PAUSE_MS = 5;

/** Owner ids read per step while expiring. */
const EXPIRE_OWNERS_PAGE = 500;

function toItem(l: Located): ArchiveItem {
  const item: ArchiveItem = { id: l.id, when: l.when, value: l.value };
  if (l.with !== null) item.with = l.with;
  return item;
}

export class SqliteArchives {
  /** Open chunks of the current batch: owner → with → chunk. */
  #open = new Map<number, Map<string | null, OpenChunk>>();
  /** Bytes in open chunks, as of their last append (bounded by OPEN_BYTES_MAX). */
  #openBytes = 0;
  /** Archive owner ids by user, per JSON [host, store]. */
  #ownerCaches = new Map<string, Map<string, number>>();

  readonly #queries: ArchiveQueries;

  constructor(readonly sql: SqlAccess) {
    this.#queries = new ArchiveQueries(sql.stmt);
  }

  /**
   * Writes every open chunk into the batch's transaction: before the
   * commit, and before anything reads the archive. Open chunks exist only
   * while the batch's transaction is open (appends open it).
   */
  materialize(): void {
    // Every owner entry holds an open chunk: none, nothing to write.
    if (this.#open.size === 0) return;
    const open = this.#open;
    this.#open = new Map();
    this.#openBytes = 0;
    for (const byWith of open.values()) for (const c of byWith.values()) this.#insert(c);
  }

  /**
   * After SQLite rolled back a whole transaction: the open chunks were
   * part of it, and owner ids made in it are gone.
   */
  forget(): void {
    this.#open.clear();
    this.#openBytes = 0;
    for (const cache of this.#ownerCaches.values()) cache.clear();
  }

  /** Removes every archived item of the user on this host (inside the caller's write). */
  deleteUser(host: string, user: string): void {
    this.materialize();
    const owners = `(SELECT id FROM archive_owner WHERE host = ? AND "user" = ?)`;
    this.sql.stmt(`DELETE FROM archive_ids WHERE owner IN ${owners}`).run(host, user);
    this.sql.stmt(`DELETE FROM archive_chunk WHERE owner IN ${owners}`).run(host, user);
  }

  store(host: string, store: string): ArchiveStore {
    const cacheKey = JSON.stringify([host, store]);
    let cache = this.#ownerCaches.get(cacheKey);
    if (!cache) this.#ownerCaches.set(cacheKey, cache = new Map());
    const owners = cache;
    const owner = (user: string, create = false) => this.#owner(owners, host, store, user, create);
    const { read, write } = this.sql;
    return {
      append: (user, item) =>
        write(() => prepareArchiveItem(item), (row) => {
          const id = owner(user, true)!;
          // An untimed id needs an archive_ids row, whose key would refuse
          // a duplicate only at commit, taking the whole batch with it: so
          // it is checked even when generated (callers' generated ids are
          // timed, so this costs them nothing).
          if (!row.generated || !row.timed) {
            this.materialize();
            if (this.#queries.locate(id, row.id)) throw duplicateIdError(row.id);
          }
          this.#add(id, row);
          return row.id;
        }),
      find: (user, query = {}) =>
        read(() => {
          // Validated even for a user with no archive, as the memory driver does.
          queryLimit(query.limit);
          this.materialize();
          const id = owner(user);
          return id === undefined ? [] : this.#queries.select(id, query).map(toItem);
        }),
      count: (user, query = {}) =>
        read(() => {
          queryLimit(query.limit);
          this.materialize();
          const id = owner(user);
          return id === undefined ? 0 : this.#queries.count(id, query);
        }),
      delete: (user, query = {}) =>
        write(() => queryLimit(query.limit), () => {
          this.materialize();
          const id = owner(user);
          return id === undefined ? 0 : this.#delete(id, query);
        }),
      expire: (cutoff) => this.#expire(host, store, cutoff),
    };
  }

  /**
   * The archive owner id of (host, user, store), from the cache or the
   * database; with `create`, made when missing (inside a write). Owner
   * rows are never deleted or changed (schema.ts V3), so a cached id stays
   * right; only a rolled-back transaction can take back one this
   * connection made, and a rollback clears the caches (`forget`).
   */
  #owner(
    cache: Map<string, number>,
    host: string,
    store: string,
    user: string,
    create: boolean,
  ): number | undefined {
    const cached = cache.get(user);
    if (cached !== undefined) return cached;
    const select = this.sql.stmt(
      `SELECT id FROM archive_owner WHERE host = ? AND "user" = ? AND store = ?`,
    );
    let id = select.get(host, user, store)?.id as number | bigint | undefined;
    if (id === undefined) {
      if (!create) return undefined;
      id = this.sql.stmt(`INSERT INTO archive_owner (host, "user", store) VALUES (?, ?, ?)`)
        .run(host, user, store).lastInsertRowid;
    }
    // Bounded: the oldest entry goes (a miss costs one indexed lookup).
    if (cache.size >= OWNER_CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(user, Number(id));
    return Number(id);
  }

  // ---- Writing.

  #add(owner: number, row: ReturnType<typeof prepareArchiveItem>): void {
    const head = itemHead(row.id, row.when);
    const chars = head.length + row.text.length;
    let byWith = this.#open.get(owner);
    if (!byWith) this.#open.set(owner, byWith = new Map());
    let chunk = byWith.get(row.with);
    if (chunk && !chunk.accepts(row.when, chars)) {
      this.#openBytes -= chunk.bytesUsed;
      this.#insert(chunk);
      chunk = undefined;
    }
    if (!chunk) {
      byWith.set(row.with, chunk = new OpenChunk(owner, row.with, row.when));
    }
    const before = chunk.bytesUsed;
    chunk.add(row.when, head, row.text, row.timed ? undefined : row.id);
    // Memory held for the batch stays bounded however large the items:
    // past the bound the open chunks go into the transaction now.
    this.#openBytes += chunk.bytesUsed - before;
    if (this.#openBytes > OPEN_BYTES_MAX) this.materialize();
  }

  #insert(c: OpenChunk): void {
    const { lastInsertRowid } = this.sql.stmt(
      `INSERT INTO archive_chunk (owner, with_jid, first_when, last_when, n, items)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ).run(c.owner, c.withJid, c.firstWhen, c.lastWhen, c.size, c.bytes());
    c.release();
    for (const id of c.untimed) {
      this.sql.stmt(`INSERT INTO archive_ids (owner, id, chunk) VALUES (?, ?, ?)`)
        .run(c.owner, id, lastInsertRowid);
    }
  }

  /** Writes a chunk's remaining items back, or drops the chunk when none remain. */
  #rewrite(owner: number, seq: number, keep: (item: StoredItem) => boolean): number {
    const row = this.sql.stmt(`SELECT items FROM archive_chunk WHERE seq = ?`).get(seq);
    if (!row) return 0;
    const items = JSON.parse(chunkText(row.items as Uint8Array)) as StoredItem[];
    const kept: StoredItem[] = [];
    for (const item of items) {
      if (keep(item)) kept.push(item);
      else this.sql.stmt(`DELETE FROM archive_ids WHERE owner = ? AND id = ?`).run(owner, item[0]);
    }
    const removed = items.length - kept.length;
    if (removed === 0) return 0;
    if (kept.length === 0) {
      this.sql.stmt(`DELETE FROM archive_chunk WHERE seq = ?`).run(seq);
    } else {
      this.sql.stmt(
        `UPDATE archive_chunk SET items = ?, n = ?, first_when = ?, last_when = ? WHERE seq = ?`,
      ).run(JSON.stringify(kept), kept.length, kept[0][1], kept[kept.length - 1][1], seq);
    }
    return removed;
  }

  #delete(owner: number, q: ArchiveQuery): number {
    if (Object.values(q).every((v) => v === undefined)) {
      const total = this.sql.stmt(`SELECT total(n) AS n FROM archive_chunk WHERE owner = ?`)
        .get(owner);
      this.sql.stmt(`DELETE FROM archive_ids WHERE owner = ?`).run(owner);
      this.sql.stmt(`DELETE FROM archive_chunk WHERE owner = ?`).run(owner);
      return Number(total?.n ?? 0);
    }
    const bySeq = new Map<number, Set<string>>();
    for (const item of this.#queries.select(owner, q)) {
      let ids = bySeq.get(item.seq);
      if (!ids) bySeq.set(item.seq, ids = new Set());
      ids.add(item.id);
    }
    let n = 0;
    for (const [seq, ids] of bySeq) n += this.#rewrite(owner, seq, (i) => !ids.has(i[0]));
    return n;
  }

  /**
   * Retention: every owner of the store, through archive_expiry, then each
   * owner's old chunks through archive_chunk_when (whole chunks deleted,
   * a chunk holding the cutoff rewritten). Bounded steps, each in its own
   * turn and commit, so a large expiry never holds the event loop
   * (DatabaseSync is synchronous); a step also ends when its time is up,
   * however many owners had nothing to expire.
   */
  async #expire(host: string, store: string, cutoff: number): Promise<number> {
    if (!Number.isSafeInteger(cutoff)) throw new TypeError(`storage: bad cutoff ${cutoff}`);
    const sql = this.sql;
    const ownersSql = `SELECT id FROM archive_owner
      WHERE host = ? AND store = ? AND id > ? ORDER BY id LIMIT ${EXPIRE_OWNERS_PAGE}`;
    const oldChunks = `SELECT seq, n FROM archive_chunk INDEXED BY archive_chunk_when
      WHERE owner = ? AND first_when < ? AND last_when < ? LIMIT ?`;
    const straddling = `SELECT seq FROM archive_chunk INDEXED BY archive_chunk_when
      WHERE owner = ? AND first_when >= ? AND first_when < ? AND last_when >= ?`;
    /** Owners still to visit: a page at a time, after `lastOwner`. */
    let queue: number[] = [];
    let lastOwner = -1;
    let total = 0;
    let chunk = EXPIRE_CHUNK.first;
    for (;;) {
      const started = performance.now();
      const { n, done } = await sql.write(() => undefined, () => {
        this.materialize();
        let n = 0;
        let rows = 0;
        while (rows < chunk && performance.now() - started < EXPIRE_TURN_MS) {
          if (queue.length === 0) {
            queue = sql.stmt(ownersSql).all(host, store, lastOwner).map((r) => Number(r.id));
            if (queue.length === 0) return { n, done: true };
            lastOwner = queue[queue.length - 1];
          }
          const owner = queue[0];
          const want = chunk - rows;
          const gone = sql.stmt(oldChunks).all(owner, cutoff, cutoff, want);
          for (const g of gone) {
            sql.stmt(`DELETE FROM archive_ids WHERE chunk = ?`).run(g.seq);
            sql.stmt(`DELETE FROM archive_chunk WHERE seq = ?`).run(g.seq);
            n += Number(g.n);
          }
          rows += gone.length;
          if (gone.length < want) {
            // No whole old chunk left: cut the ones holding the cutoff, next owner.
            const cut = sql.stmt(straddling).all(owner, cutoff - CHUNK_SPAN_MS, cutoff, cutoff);
            for (const r of cut) n += this.#rewrite(owner, Number(r.seq), (i) => i[1] >= cutoff);
            rows += cut.length;
            queue.shift();
          }
        }
        return { n, done: false };
      });
      // Still the same turn: commit now, so the step's cost is known
      // (and not merged into a later, larger commit).
      sql.flush();
      total += n;
      if (done) return total;
      const took = Math.max(performance.now() - started, 0.1);
      const next = Math.round(Math.max(n, 1) * EXPIRE_TURN_MS / took);
      chunk = Math.min(EXPIRE_CHUNK.max, Math.max(EXPIRE_CHUNK.min, Math.min(next, chunk * 2)));
      const pause = sql.commitIntervalMs + EXPIRE_PAUSE_MS;
      await new Promise<void>((r) => setTimeout(r, pause));
    }
  }
}
