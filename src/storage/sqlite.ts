/**
 * The embedded default driver: one SQLite file through `node:sqlite`.
 *
 * `DatabaseSync` blocks the event loop, and a commit is the expensive
 * part (about 12 k/s autocommitted against 134 k/s inside a transaction),
 * so writes are grouped: the first write of an event-loop turn opens a
 * transaction and one `setImmediate` callback commits it after the turn.
 * `setImmediate`, not `setTimeout(0)`: measured under Deno 2.9 a zero
 * timeout fires 1–2 ms later (millisecond timer granularity), which would
 * hold the write lock that long; setImmediate fires ~5–10 µs after the
 * turn, once pending I/O callbacks (and their writes) have run.
 *
 * Under load that is still too many commits: each one writes every page
 * the batch touched to the WAL, and archive rows of many users touch a
 * few index pages each (measured: the commit's share of an archive
 * append was 23 µs at 100 rows per commit against 3.7 µs at 1000,
 * bench/results/2026-12-06-archive-writes.md). So a batch that opens less than
 * `commitIntervalMs` after the previous commit ended commits by a timer
 * at that interval instead, taking in the writes of the turns in between
 * (group commit); a quiet server still commits after every turn. WAL
 * checkpoints run in a worker (checkpointer.ts), not inside COMMIT.
 *
 * A write's promise resolves once the row is in the open transaction, not
 * after the commit: with synchronous=NORMAL the last commits can already
 * be lost on power failure, so waiting would buy little and would turn a
 * loop of awaited writes back into one commit each. Reads use the same
 * connection and see uncommitted writes. `flush()` commits at once.
 *
 * A failing statement inside the batch must not lose the batch's other
 * writes. SQLite undoes only the failing statement for constraint errors
 * (the transaction stays open), so single-statement writes need nothing
 * more; the multi-statement deleteUser runs in a SAVEPOINT. Values are
 * encoded and checked before any SQL runs.
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import type {
  ArchiveItem,
  ArchiveStore,
  Json,
  KeyValStore,
  MapStore,
  StorageDriver,
} from "./types.ts";
import {
  decodeValue,
  duplicateIdError,
  encodeValue,
  migrationsFor,
  prepareArchiveItem,
  queryLimit,
  SCHEMA_VERSION,
  SCHEMA_VERSION_TABLE,
} from "./schema.ts";
import { countSql, selectSql, timedIdExistsSql } from "./archive_sql.ts";
import { Checkpointer, SAFETY_NET_PAGES } from "./checkpointer.ts";
import { logger } from "../log.ts";

const log = logger("storage");

/** How long a write waits for another process's lock (e.g. the CLI) before failing. */
const BUSY_TIMEOUT_MS = 5000;

export interface SqliteOptions {
  /**
   * The longest a batch stays open after the previous commit (see the
   * header): what a crashing process can lose of acknowledged writes while
   * busy. 0 commits after every turn.
   */
  commitIntervalMs?: number;
}

const DEFAULT_COMMIT_INTERVAL_MS = 20;

/** A batch this large commits after the current turn, whatever the interval. */
const MAX_BATCH_WRITES = 4096;

/**
 * What one `expire` chunk (its DELETE and its commit) may take: the chunk
 * size follows the time the previous one took. Expired rows are scattered
 * over every user's index ranges, so a row costs several page writes:
 * measured 100–500 µs per row at 1 000 000 rows on the bench VM
 * (bench/results/2026-12-06-archive-writes.md), far from constant.
 */
const EXPIRE_TURN_MS = 5;
const EXPIRE_CHUNK = { first: 50, min: 10, max: 2000 };

/**
 * Pause between expiry chunks beyond the commit interval. Expiry is
 * background work: without a pause its chunks merged into large commits
 * (hundreds of ms each) and outran the checkpointer until the main
 * connection's own safety-net checkpoint stalled the loop for 300–700 ms.
 */
const EXPIRE_PAUSE_MS = 5;

/** Owner ids read per step while expiring. */
const EXPIRE_OWNERS_PAGE = 500;

/** Cached archive owner ids per (host, store): 16 bytes of id and a username each. */
const OWNER_CACHE_MAX = 100_000;

/** The page cache of the connection (allocated as used). */
const CACHE_KIB = 64 * 1024;

/** SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY extended codes. */
const UNIQUE_ERRCODES = new Set([2067, 1555]);

/** Wraps synchronous work so that a throw becomes a rejection, as with an async function. */
function promised<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
}

export class SqliteStorage implements StorageDriver {
  readonly name = "sqlite";
  #db: DatabaseSync;
  #statements = new Map<string, StatementSync>();
  /** The pending commit of the open batch: an immediate or (group commit) a timeout. */
  #commit: { immediate: ReturnType<typeof setImmediate> } | {
    timeout: ReturnType<typeof setTimeout>;
  } | undefined;
  /** performance.now() when the last batch committed. */
  #lastCommit = -Infinity;
  #batchWrites = 0;
  #checkpointer: Checkpointer | undefined;
  #closed = false;
  /** Archive owner ids by user, per JSON [host, store]. */
  #ownerCaches = new Map<string, Map<string, number>>();

  readonly #commitIntervalMs: number;

  constructor(path: string, opts: SqliteOptions = {}) {
    this.#commitIntervalMs = opts.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS;
    this.#db = new DatabaseSync(path);
    try {
      // WAL: readers never block the writer; NORMAL: fsync at checkpoints,
      // not per commit (safe against corruption, may lose the last commits
      // on power loss). No foreign keys: the schema has none.
      this.#db.exec("PRAGMA journal_mode = WAL");
      this.#db.exec("PRAGMA synchronous = NORMAL");
      this.#db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      // 64 MiB of page cache instead of SQLite's 2 MiB: an archive append
      // touches three b-trees at a place per user, and with the default the
      // pages of a hundred busy users no longer fit (measured 14.7 against
      // 8.3 µs per append at 100 000 rows).
      this.#db.exec(`PRAGMA cache_size = ${-CACHE_KIB}`);
      this.#migrate();
      if (path !== ":memory:" && !path.startsWith("file:")) {
        this.#db.exec(`PRAGMA wal_autocheckpoint = ${SAFETY_NET_PAGES}`);
        this.#checkpointer = new Checkpointer(path);
      }
    } catch (e) {
      this.#db.close();
      throw e;
    }
  }

  #migrate(): void {
    const db = this.#db;
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(SCHEMA_VERSION_TABLE);
      const row = db.prepare("SELECT max(version) AS v FROM schema_version").get();
      const current = Number(row?.v ?? 0);
      if (current > SCHEMA_VERSION) {
        throw new Error(
          `storage: database schema version ${current} is newer than this Parley's (${SCHEMA_VERSION})`,
        );
      }
      // One row per upgrade, with the version it reached (all steps run in
      // this one transaction, so intermediate versions never existed).
      const steps = migrationsFor("sqlite", current);
      for (const step of steps) for (const sql of step.statements) db.exec(sql);
      if (steps.length > 0) {
        db.prepare("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)")
          .run(steps[steps.length - 1].version, Date.now());
      }
      db.exec("COMMIT");
    } catch (e) {
      db.exec("ROLLBACK");
      throw e;
    }
  }

  /** Prepared once per distinct SQL text; the query builder yields a bounded set. */
  #stmt(sql: string): StatementSync {
    let s = this.#statements.get(sql);
    if (!s) this.#statements.set(sql, s = this.#db.prepare(sql));
    return s;
  }

  #open(): void {
    if (this.#closed) throw new Error("storage: closed");
  }

  #read<T>(fn: () => T): Promise<T> {
    return promised(() => {
      this.#open();
      return fn();
    });
  }

  /**
   * Runs a write: `prepare` (encoding, validation) first, outside any
   * transaction, then `run` inside the current turn's transaction.
   */
  #write<P, T>(prepare: () => P, run: (prepared: P) => T): Promise<T> {
    return promised(() => {
      this.#open();
      const prepared = prepare();
      const db = this.#db;
      if (!db.isTransaction) {
        // IMMEDIATE takes the write lock now, so a busy database fails this
        // write (to its caller) rather than the later, caller-less COMMIT.
        db.exec("BEGIN IMMEDIATE");
        this.#batchWrites = 0;
        const wait = this.#lastCommit + this.#commitIntervalMs - performance.now();
        this.#scheduleCommit(wait);
      } else if (
        ++this.#batchWrites === MAX_BATCH_WRITES && this.#commit && "timeout" in this.#commit
      ) {
        this.#scheduleCommit(0);
      }
      try {
        return run(prepared);
      } catch (e) {
        // Errors such as SQLITE_FULL or IOERR make SQLite roll back the
        // whole transaction; say so, since earlier writes that already
        // resolved are then gone.
        if (!db.isTransaction) {
          log.error("write batch rolled back by SQLite: {error}", { error: String(e) });
          this.#forgetOwners();
        }
        throw e;
      }
    });
  }

  /** Commits the pending batch now rather than after the current turn. */
  flush(): void {
    this.#commitBatch(true);
  }

  /** (Re)schedules the batch's commit: after this turn, or in `ms` milliseconds. */
  #scheduleCommit(ms: number): void {
    this.#cancelCommit();
    const commit = () => this.#commitBatch(false);
    this.#commit = ms > 0
      ? { timeout: setTimeout(commit, ms) }
      : { immediate: setImmediate(commit) };
  }

  #cancelCommit(): void {
    const c = this.#commit;
    if (c && "timeout" in c) clearTimeout(c.timeout);
    else if (c) clearImmediate(c.immediate);
    this.#commit = undefined;
  }

  #commitBatch(rethrow: boolean): void {
    this.#cancelCommit();
    if (!this.#db.isTransaction) return;
    try {
      this.#db.exec("COMMIT");
      this.#lastCommit = performance.now();
    } catch (e) {
      // Nobody awaits the scheduled commit, so it logs instead of throwing
      // (which would be an uncaught exception).
      log.error("commit failed, write batch lost: {error}", { error: String(e) });
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      this.#forgetOwners();
      if (rethrow) throw e;
    }
  }

  keyval(host: string, store: string): KeyValStore {
    const where = `host = ? AND "user" = ? AND store = ?`;
    return {
      get: (user) =>
        this.#read(() => {
          const row = this.#stmt(`SELECT value FROM keyval WHERE ${where}`).get(host, user, store);
          return row ? decodeValue(row.value as string) : undefined;
        }),
      set: (user, value) =>
        this.#write(() => value === undefined ? undefined : encodeValue(value), (text) => {
          if (text === undefined) {
            this.#stmt(`DELETE FROM keyval WHERE ${where}`).run(host, user, store);
          } else {
            this.#stmt(
              `INSERT INTO keyval (host, "user", store, value) VALUES (?, ?, ?, ?)
               ON CONFLICT (host, "user", store) DO UPDATE SET value = excluded.value`,
            ).run(host, user, store, text);
          }
        }),
      users: () =>
        this.#read(() =>
          this.#stmt(`SELECT "user" FROM keyval WHERE host = ? AND store = ? ORDER BY "user"`)
            .all(host, store).map((row) => row.user as string)
        ),
    };
  }

  map(host: string, store: string): MapStore {
    const where = `host = ? AND "user" = ? AND store = ?`;
    return {
      get: (user, key) =>
        this.#read(() => {
          const row = this.#stmt(`SELECT value FROM map WHERE ${where} AND key = ?`)
            .get(host, user, store, key);
          return row ? decodeValue(row.value as string) : undefined;
        }),
      set: (user, key, value) =>
        this.#write(() => value === undefined ? undefined : encodeValue(value), (text) => {
          if (text === undefined) {
            this.#stmt(`DELETE FROM map WHERE ${where} AND key = ?`).run(host, user, store, key);
          } else {
            this.#stmt(
              `INSERT INTO map (host, "user", store, key, value) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (host, "user", store, key) DO UPDATE SET value = excluded.value`,
            ).run(host, user, store, key, text);
          }
        }),
      getAll: (user) =>
        this.#read(() => {
          const out = new Map<string, Json>();
          const rows = this.#stmt(`SELECT key, value FROM map WHERE ${where} ORDER BY key`)
            .all(host, user, store);
          for (const row of rows) out.set(row.key as string, decodeValue(row.value as string));
          return out;
        }),
      clear: (user) =>
        this.#write(() => undefined, () => {
          this.#stmt(`DELETE FROM map WHERE ${where}`).run(host, user, store);
        }),
    };
  }

  /**
   * The archive owner id of (host, user, store), from the cache or the
   * database; with `create`, made when missing (inside a write). Owner
   * rows are never deleted or changed (schema.ts V3), so a cached id stays
   * right; only a rolled-back transaction can take back one this
   * connection made, and a rollback clears the caches.
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
    const select = this.#stmt(
      `SELECT id FROM archive_owner WHERE host = ? AND "user" = ? AND store = ?`,
    );
    let id = select.get(host, user, store)?.id as number | bigint | undefined;
    if (id === undefined) {
      if (!create) return undefined;
      id = this.#stmt(`INSERT INTO archive_owner (host, "user", store) VALUES (?, ?, ?)`)
        .run(host, user, store).lastInsertRowid;
    }
    // Bounded: the oldest entry goes (a miss costs one indexed lookup).
    if (cache.size >= OWNER_CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(user, Number(id));
    return Number(id);
  }

  /** Forgets every cached owner id: after SQLite rolled back a whole transaction. */
  #forgetOwners(): void {
    for (const cache of this.#ownerCaches.values()) cache.clear();
  }

  archive(host: string, store: string): ArchiveStore {
    const cacheKey = JSON.stringify([host, store]);
    let cache = this.#ownerCaches.get(cacheKey);
    if (!cache) this.#ownerCaches.set(cacheKey, cache = new Map());
    const owners = cache;
    const owner = (user: string, create = false) => this.#owner(owners, host, store, user, create);
    return {
      append: (user, item) =>
        this.#write(() => prepareArchiveItem(item), (row) => {
          const id = owner(user, true)!;
          const exists = timedIdExistsSql(id, row.id);
          if (exists && this.#stmt(exists.sql).get(...exists.params)) {
            throw duplicateIdError(row.id);
          }
          try {
            this.#stmt(
              `INSERT INTO archive (owner, id, timed, "when", with_jid, value)
               VALUES (?, ?, ?, ?, ?, ?)`,
            ).run(id, row.id, row.timed ? 1 : 0, row.when, row.with, row.text);
          } catch (e) {
            if (UNIQUE_ERRCODES.has((e as { errcode?: number }).errcode ?? 0)) {
              throw duplicateIdError(row.id);
            }
            throw e;
          }
          return row.id;
        }),
      find: (user, query = {}) =>
        this.#read(() => {
          const id = owner(user);
          const q = id === undefined
            ? undefined
            : selectSql(id, query, 'id, "when", with_jid, value');
          if (!q) return [];
          return this.#stmt(q.sql).all(...q.params).map(toItem);
        }),
      count: (user, query = {}) =>
        this.#read(() => {
          const id = owner(user);
          const q = id === undefined ? undefined : countSql(id, query);
          if (!q) return 0;
          const row = this.#stmt(q.sql).get(...q.params);
          return Number(row?.n ?? 0);
        }),
      delete: (user, query = {}) =>
        this.#write(() => queryLimit(query.limit), () => {
          const id = owner(user);
          const q = id === undefined ? undefined : selectSql(id, query, "seq");
          if (!q) return 0;
          const sql = `DELETE FROM archive WHERE seq IN (${q.sql})`;
          return Number(this.#stmt(sql).run(...q.params).changes);
        }),
      expire: (cutoff) => this.#expire(host, store, cutoff),
    };
  }

  /**
   * Retention: every owner of the store, through archive_expiry, then each
   * owner's old items through archive_when. Bounded chunks, each in its
   * own turn and commit, so a large expiry never holds the event loop
   * (DatabaseSync is synchronous); a chunk also ends when its time is up,
   * however many owners had nothing to expire.
   */
  async #expire(host: string, store: string, cutoff: number): Promise<number> {
    if (!Number.isSafeInteger(cutoff)) throw new TypeError(`storage: bad cutoff ${cutoff}`);
    const ownersSql = `SELECT id FROM archive_owner
      WHERE host = ? AND store = ? AND id > ? ORDER BY id LIMIT ${EXPIRE_OWNERS_PAGE}`;
    const deleteSql = `DELETE FROM archive WHERE seq IN (SELECT seq FROM archive
      WHERE owner = ? AND "when" < ? LIMIT ?)`;
    /** Owners still to visit: a page at a time, after `lastOwner`. */
    let queue: number[] = [];
    let lastOwner = -1;
    let total = 0;
    let chunk = EXPIRE_CHUNK.first;
    for (;;) {
      const started = performance.now();
      const { n, done } = await this.#write(() => undefined, () => {
        let n = 0;
        while (n < chunk && performance.now() - started < EXPIRE_TURN_MS) {
          if (queue.length === 0) {
            queue = this.#stmt(ownersSql).all(host, store, lastOwner).map((r) => Number(r.id));
            if (queue.length === 0) return { n, done: true };
            lastOwner = queue[queue.length - 1];
          }
          const want = chunk - n;
          const got = Number(this.#stmt(deleteSql).run(queue[0], cutoff, want).changes);
          n += got;
          if (got < want) queue.shift(); // this owner has nothing older left
        }
        return { n, done: false };
      });
      // Still the same turn: commit now, so the chunk's cost is known
      // (and not merged into a later, larger commit).
      this.flush();
      total += n;
      if (done) return total;
      const took = Math.max(performance.now() - started, 0.1);
      const next = Math.round(Math.max(n, 1) * EXPIRE_TURN_MS / took);
      chunk = Math.min(EXPIRE_CHUNK.max, Math.max(EXPIRE_CHUNK.min, Math.min(next, chunk * 2)));
      const pause = this.#commitIntervalMs + EXPIRE_PAUSE_MS;
      await new Promise<void>((r) => setTimeout(r, pause));
    }
  }

  deleteUser(host: string, user: string): Promise<void> {
    // Three statements: a savepoint makes them one unit inside the batch.
    // The archive owner rows stay (schema.ts V3): only the items go.
    return this.#write(() => undefined, () => {
      const db = this.#db;
      db.exec("SAVEPOINT delete_user");
      try {
        for (const table of ["keyval", "map"]) {
          this.#stmt(`DELETE FROM ${table} WHERE host = ? AND "user" = ?`).run(host, user);
        }
        this.#stmt(`DELETE FROM archive WHERE owner IN
          (SELECT id FROM archive_owner WHERE host = ? AND "user" = ?)`).run(host, user);
        db.exec("RELEASE delete_user");
      } catch (e) {
        if (db.isTransaction) db.exec("ROLLBACK TO delete_user; RELEASE delete_user");
        throw e;
      }
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Committed before the first await: a caller may close in the same
    // turn as its writes.
    try {
      this.#commitBatch(true);
    } finally {
      this.#statements.clear();
      this.#db.close();
      await this.#checkpointer?.close();
    }
  }
}

function toItem(row: Record<string, SQLInputValue>): ArchiveItem {
  const item: ArchiveItem = {
    id: row.id as string,
    when: Number(row.when),
    value: decodeValue(row.value as string),
  };
  if (row.with_jid !== null) item.with = row.with_jid as string;
  return item;
}
