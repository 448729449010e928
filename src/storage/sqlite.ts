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
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { ArchiveStore, Json, KeyValStore, MapStore, StorageDriver } from "./types.ts";
import {
  decodeValue,
  encodeValue,
  migrationsFor,
  pageLimit,
  SCHEMA_VERSION,
  SCHEMA_VERSION_TABLE,
} from "./schema.ts";
import { SqliteArchives } from "./sqlite_archive.ts";
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

/** The page cache of the connection (allocated as used). */
const CACHE_KIB = 64 * 1024;

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
  readonly #archives: SqliteArchives;

  readonly #commitIntervalMs: number;

  constructor(path: string, opts: SqliteOptions = {}) {
    this.#commitIntervalMs = opts.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS;
    this.#archives = new SqliteArchives({
      stmt: (sql) => this.#stmt(sql),
      read: (fn) => this.#read(fn),
      write: (prepare, run) => this.#write(prepare, run),
      flush: () => this.flush(),
      commitIntervalMs: this.#commitIntervalMs,
    });
    this.#db = new DatabaseSync(path);
    try {
      // WAL: readers never block the writer; NORMAL: fsync at checkpoints,
      // not per commit (safe against corruption, may lose the last commits
      // on power loss). No foreign keys: the schema has none.
      // busy_timeout first: switching to WAL needs a lock that another
      // process (the server, a CLI command) may hold for a moment.
      this.#db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      this.#db.exec("PRAGMA journal_mode = WAL");
      this.#db.exec("PRAGMA synchronous = NORMAL");
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
      const started = performance.now();
      // An upgrade rewrites the archive (version 4: ~6 µs per stored item,
      // 18 s for 3 million): say so, or a large server seems to hang.
      if (current > 0 && steps.length > 0) {
        log.info("upgrading the database from schema version {from} to {to}", {
          from: current,
          to: SCHEMA_VERSION,
        });
      }
      for (const step of steps) for (const sql of step.statements) db.exec(sql);
      if (steps.length > 0) {
        db.prepare("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)")
          .run(steps[steps.length - 1].version, Date.now());
      }
      db.exec("COMMIT");
      if (current > 0 && steps.length > 0) {
        log.info("database upgraded to schema version {to} in {ms} ms", {
          to: SCHEMA_VERSION,
          ms: Math.round(performance.now() - started),
        });
      }
    } catch (e) {
      // SQLITE_FULL or an I/O error has already rolled it back: a ROLLBACK
      // then throws "no transaction is active" and would hide the cause.
      if (db.isTransaction) db.exec("ROLLBACK");
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
      // An archive read first writes the batch's open chunks: a failure
      // there can end the transaction like a failing write.
      const inBatch = this.#db.isTransaction;
      try {
        return fn();
      } catch (e) {
        if (inBatch) this.#lostBatch(e);
        throw e;
      }
    });
  }

  /**
   * After an error: when SQLite rolled back the whole batch (SQLITE_FULL,
   * IOERR…), say so, since earlier writes that already resolved are gone,
   * and drop what was made in it (open chunks, owner ids).
   */
  #lostBatch(e: unknown): void {
    if (this.#db.isTransaction) return;
    log.error("write batch rolled back by SQLite: {error}", { error: String(e) });
    this.#archives.forget();
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
        // Errors such as SQLITE_FULL or IOERR roll back the whole transaction.
        this.#lostBatch(e);
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
      // The archive's open chunks belong to this batch.
      this.#archives.materialize();
      this.#db.exec("COMMIT");
      this.#lastCommit = performance.now();
    } catch (e) {
      // Nobody awaits the scheduled commit, so it logs instead of throwing
      // (which would be an uncaught exception).
      log.error("commit failed, write batch lost: {error}", { error: String(e) });
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      this.#archives.forget();
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
      getPage: (user, after, limit) =>
        this.#read(() => {
          // Two texts rather than `(? IS NULL OR key > ?)`, which would
          // not be served by the primary key's range.
          const rows = after === undefined
            ? this.#stmt(`SELECT key, value FROM map WHERE ${where} ORDER BY key LIMIT ?`)
              .all(host, user, store, pageLimit(limit))
            : this.#stmt(
              `SELECT key, value FROM map WHERE ${where} AND key > ? ORDER BY key LIMIT ?`,
            ).all(host, user, store, after, pageLimit(limit));
          return rows.map((row) => [row.key as string, decodeValue(row.value as string)]);
        }),
      clear: (user) =>
        this.#write(() => undefined, () => {
          this.#stmt(`DELETE FROM map WHERE ${where}`).run(host, user, store);
        }),
    };
  }

  archive(host: string, store: string): ArchiveStore {
    return this.#archives.store(host, store);
  }

  deleteUser(host: string, user: string): Promise<void> {
    // Several statements: a savepoint makes them one unit inside the batch.
    // The archive owner rows stay (schema.ts V3): only the items go.
    return this.#write(() => undefined, () => {
      const db = this.#db;
      // Outside the savepoint: other users' pending archive items must not
      // go if this rolls back.
      this.#archives.materialize();
      db.exec("SAVEPOINT delete_user");
      try {
        for (const table of ["keyval", "map"]) {
          this.#stmt(`DELETE FROM ${table} WHERE host = ? AND "user" = ?`).run(host, user);
        }
        this.#archives.deleteUser(host, user);
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
