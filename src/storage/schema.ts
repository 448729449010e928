/**
 * The stored format shared by the SQL drivers (SQLite now, PostgreSQL
 * later) and mirrored by the memory driver: one DDL, values as JSON text.
 *
 * The DDL is written in the common subset of SQLite and PostgreSQL. The
 * two places they differ are tokens filled in by `schemaFor`:
 * - `{{SEQ}}`: an auto-incrementing archive key. SQLite's AUTOINCREMENT
 *   never reuses a deleted maximum (plain rowids would), PostgreSQL has
 *   identity columns instead.
 * - `{{WITHOUT_ROWID}}`: SQLite stores keyval/map rows directly in their
 *   primary-key b-tree (one lookup instead of two per read); PostgreSQL
 *   has no such clause.
 *
 * "user" and "when" are reserved words in PostgreSQL (and "when" in
 * SQLite), so they are always double-quoted.
 *
 * Every index starts with (host, "user", store) rather than (host, store,
 * "user"): every store operation has equality on all three, so the order
 * costs nothing there, while deleteUser (host and user, all stores) gets
 * an index prefix instead of a scan of the whole host.
 */
import type { Json } from "./types.ts";

export type Dialect = "sqlite" | "postgres";

/** The version `schemaFor` produces; bump it with every new migration. */
export const SCHEMA_VERSION = 2;

/** Created before anything else so a driver can read the current version. */
export const SCHEMA_VERSION_TABLE = `CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER PRIMARY KEY,
  applied_at BIGINT NOT NULL
)`;

const V1 = [
  `CREATE TABLE IF NOT EXISTS keyval (
  host TEXT NOT NULL,
  "user" TEXT NOT NULL,
  store TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (host, "user", store)
){{WITHOUT_ROWID}}`,
  `CREATE TABLE IF NOT EXISTS map (
  host TEXT NOT NULL,
  "user" TEXT NOT NULL,
  store TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (host, "user", store, key)
){{WITHOUT_ROWID}}`,
  `CREATE TABLE IF NOT EXISTS archive (
  seq {{SEQ}},
  host TEXT NOT NULL,
  "user" TEXT NOT NULL,
  store TEXT NOT NULL,
  id TEXT NOT NULL,
  "when" BIGINT NOT NULL,
  with_jid TEXT,
  value TEXT NOT NULL
)`,
  // Archive order is ("when", seq); seq is in the indexes so both ORDER BY
  // and the after/before row comparisons are served by the index.
  `CREATE UNIQUE INDEX IF NOT EXISTS archive_id ON archive (host, "user", store, id)`,
  `CREATE INDEX IF NOT EXISTS archive_when ON archive (host, "user", store, "when", seq)`,
  `CREATE INDEX IF NOT EXISTS archive_with ON archive (host, "user", store, with_jid, "when", seq)`,
];

/**
 * Retention (ArchiveStore.expire) deletes by time across every user of a
 * host's store: without this index that is a scan of the whole table.
 * New rows land at its right end (time order), so it costs appends little.
 */
const V2 = [
  `CREATE INDEX IF NOT EXISTS archive_expiry ON archive (host, store, "when")`,
];

/** Migration steps by the version they produce, oldest first. */
const MIGRATIONS: { version: number; statements: string[] }[] = [
  { version: 1, statements: V1 },
  { version: 2, statements: V2 },
];

const TOKENS: Record<Dialect, Record<string, string>> = {
  sqlite: { SEQ: "INTEGER PRIMARY KEY AUTOINCREMENT", WITHOUT_ROWID: " WITHOUT ROWID" },
  postgres: { SEQ: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", WITHOUT_ROWID: "" },
};

function render(sql: string, dialect: Dialect): string {
  return sql.replace(/\{\{(\w+)\}\}/g, (_, token: string) => TOKENS[dialect][token]);
}

/** The migrations to run on a database at `from` (0 = empty), oldest first. */
export function migrationsFor(
  dialect: Dialect,
  from: number,
): { version: number; statements: string[] }[] {
  return MIGRATIONS.filter((m) => m.version > from).map((m) => ({
    version: m.version,
    statements: m.statements.map((s) => render(s, dialect)),
  }));
}

/** The whole current schema (without schema_version), one statement per entry. */
export function schemaFor(dialect: Dialect): string[] {
  return migrationsFor(dialect, 0).flatMap((m) => m.statements);
}

// ---- Value encoding, shared by every driver so they accept and return the same things.

/**
 * JSON text of a value. Throws (before any database is touched) on what
 * JSON cannot represent faithfully enough to store: cycles, BigInt, and a
 * top-level undefined/function/symbol that would otherwise vanish.
 */
export function encodeValue(value: Json): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`storage: value is not JSON (${typeof value})`);
  return text;
}

export function decodeValue(text: string): Json {
  return JSON.parse(text) as Json;
}

/**
 * A new archive id: the time in milliseconds (12 hex digits) then the
 * random tail of a v4 UUID (22 characters, 62 random bits), URL-safe.
 * Time first so a user's new ids land at the end of their range in the
 * archive_id index (one page per user and commit) rather than on a random
 * page each (36–51 → 34 µs per append in raw tests, see
 * bench/results/2026-12-06-archive-writes.md). randomUUID, not
 * base64url of random bytes: 0.14 µs against 3.3 µs for btoa and string
 * building, measured in the batched-append path.
 */
export function newArchiveId(): string {
  return Date.now().toString(16).padStart(12, "0") + "-" + crypto.randomUUID().slice(14);
}

/** Checks an appended item's fields; returns them with defaults applied. */
export function prepareArchiveItem(
  item: { id?: string; when?: number; with?: string; value: Json },
): { id: string; when: number; with: string | null; text: string } {
  const when = item.when ?? Date.now();
  // BIGINT in both dialects: a fractional or huge number would be stored
  // differently (or refused) by each, so refuse it here.
  if (!Number.isSafeInteger(when)) throw new TypeError(`storage: bad archive time ${when}`);
  if (item.id !== undefined && (typeof item.id !== "string" || item.id === "")) {
    throw new TypeError("storage: archive id must be a non-empty string");
  }
  if (item.with !== undefined && typeof item.with !== "string") {
    throw new TypeError("storage: archive with must be a string");
  }
  return {
    id: item.id ?? newArchiveId(),
    when,
    with: item.with ?? null,
    text: encodeValue(item.value),
  };
}

/** `limit` as a count; undefined means no limit. */
export function queryLimit(limit: number | undefined): number | undefined {
  if (limit === undefined) return undefined;
  if (!(limit >= 0)) throw new RangeError(`storage: bad limit ${limit}`);
  return Math.floor(limit);
}

/** The error both drivers throw when an appended id is already in the archive. */
export function duplicateIdError(id: string): Error {
  return new Error(`storage: archive id already exists: ${id}`);
}
