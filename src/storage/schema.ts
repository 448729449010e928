/**
 * The stored format shared by the SQL drivers (SQLite now, PostgreSQL
 * later) and mirrored by the memory driver: one DDL, values as JSON text.
 *
 * The DDL is written in the common subset of SQLite and PostgreSQL. The
 * places they differ are tokens filled in by `schemaFor`:
 * - `{{SEQ}}`: an auto-incrementing archive key. SQLite's AUTOINCREMENT
 *   never reuses a deleted maximum (plain rowids would), PostgreSQL has
 *   identity columns instead. Only version 1 used it (see V3).
 * - `{{KEY}}`: a generated integer key: SQLite's rowid (the next key is the
 *   largest plus one, no bookkeeping), PostgreSQL's identity column.
 * - `{{WITHOUT_ROWID}}`: SQLite stores keyval/map rows directly in their
 *   primary-key b-tree (one lookup instead of two per read); PostgreSQL
 *   has no such clause.
 * - `{{OVERRIDING}}` and `{{JSON_QUOTE}}`: what version 4 needs to copy
 *   rows with their keys (PostgreSQL refuses values for an identity column
 *   without OVERRIDING SYSTEM VALUE) and to quote a text as JSON.
 *
 * "user" and "when" are reserved words in PostgreSQL (and "when" in
 * SQLite), so they are always double-quoted.
 *
 * Every keyval/map key starts with (host, "user", store) rather than
 * (host, store, "user"): every store operation has equality on all three,
 * so the order costs nothing there, while deleteUser (host and user, all
 * stores) gets an index prefix instead of a scan of the whole host. The
 * archive names its (host, "user", store) by an integer owner instead
 * (version 3).
 */
import type { ArchiveAppend, Json } from "./types.ts";

export type Dialect = "sqlite" | "postgres";

/** The version `schemaFor` produces; bump it with every new migration. */
export const SCHEMA_VERSION = 4;

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

/**
 * Narrower archive rows and indexes, for the cost of appends (each append
 * writes the row and an entry in every index; CPU per append through the
 * driver, commits included, after 100 000 rows: v2 20–28 µs, v3 15–18 µs,
 * bench/results/2026-12-06-archive-writes.md):
 *
 * - An integer `owner` (archive_owner) instead of host, "user" and store
 *   repeated in the row and in every index key. An owner row is never
 *   deleted or changed once made (deleteUser removes the user's items,
 *   not the owner row), so an owner id a process has cached stays right
 *   whatever another process (the CLI) does meanwhile.
 * - `seq` is a plain generated key, no AUTOINCREMENT (which writes
 *   sqlite_sequence on every insert). SQLite may then give a deleted
 *   maximum's seq to the next row. Harmless: seq is not an item's identity
 *   (ids are) but the tiebreak of ("when", seq) order and a row handle
 *   inside one statement, and the next row's seq is still larger than
 *   every existing row's, so it still sorts after all of them at equal
 *   times; nothing refers to the deleted row's seq any more.
 * - No index entry for a timed id (`timed` = 1: the id's first 12 hex
 *   digits are the item's "when", as newArchiveId makes them): it is found
 *   through archive_when as (owner, "when", id), so archive_id, partial,
 *   holds only other ids (those of old rows, MUC rooms, callers' own). Its
 *   uniqueness is checked by that lookup before the insert instead.
 * - No (host, store, "when") index for retention: expire walks the store's
 *   owners (archive_expiry, now on the small owner table) and deletes each
 *   one's old items through archive_when.
 *
 * The old table's rows move over in seq order (so each keeps its place
 * among equal times); the copies get new seqs.
 */
const V3 = [
  `CREATE TABLE IF NOT EXISTS archive_owner (
  id {{KEY}},
  host TEXT NOT NULL,
  "user" TEXT NOT NULL,
  store TEXT NOT NULL,
  UNIQUE (host, "user", store)
)`,
  `INSERT INTO archive_owner (host, "user", store)
  SELECT DISTINCT host, "user", store FROM archive`,
  `CREATE TABLE archive_v3 (
  seq {{KEY}},
  owner BIGINT NOT NULL,
  id TEXT NOT NULL,
  timed SMALLINT NOT NULL DEFAULT 0,
  "when" BIGINT NOT NULL,
  with_jid TEXT,
  value TEXT NOT NULL
)`,
  `INSERT INTO archive_v3 (owner, id, "when", with_jid, value)
  SELECT o.id, a.id, a."when", a.with_jid, a.value
  FROM archive a JOIN archive_owner o
    ON o.host = a.host AND o."user" = a."user" AND o.store = a.store
  ORDER BY a.seq`,
  `DROP TABLE archive`,
  `ALTER TABLE archive_v3 RENAME TO archive`,
  // The name v2 gave retention's index (dropped with the old table): the
  // index retention uses is now this one, to find the store's owners.
  `CREATE INDEX archive_expiry ON archive_owner (host, store)`,
  // Archive order is ("when", seq); seq is in the indexes so both ORDER BY
  // and the after/before row comparisons are served by the index.
  `CREATE UNIQUE INDEX archive_id ON archive (owner, id) WHERE timed = 0`,
  `CREATE INDEX archive_when ON archive (owner, "when", seq)`,
  `CREATE INDEX archive_with ON archive (owner, with_jid, "when", seq)`,
];

/**
 * The archive in chunks: a row holds the items one owner appended with
 * one `with` (or none) within one write batch, at most CHUNK_SPAN_MS
 * apart (archive_chunk.ts). Under load dozens of items share a row and
 * its index entries; a quiet server writes an item per row as before.
 * Why: an item per row cost ~10 µs of SQLite work plus its index entries
 * and the commit of the pages they touched, about 45 µs of server CPU per
 * archived message (two items), four times the cost of routing it
 * (bench/results/2026-12-06-archive-writes.md, 2026-12-07-archive-chunks.md).
 *
 * - `items` is a JSON array of `[id, when, value]` in archive order.
 * - Archive order is ("when", chunk seq, place in the chunk). Every old
 *   row becomes a chunk of one with its old seq, so each item keeps its
 *   place among equal times.
 * - An item whose id is timed (its first 12 hex digits are its "when", as
 *   newArchiveId makes them) is found through archive_chunk_when, as the
 *   chunk whose [first_when, last_when] holds that time; any other id has
 *   a row in archive_ids naming its chunk.
 * - A count of whole chunks is count(*) over archive_chunk_when (or
 *   _with) plus n − 1 for each chunk of several items, from partial
 *   indexes that hold only those: counting index entries is about twice as
 *   fast as adding up a column of them (2.5 against 4.3 ms for 49 430
 *   one-item chunks), and a quiet server writes one-item chunks only.
 */
const V4 = [
  `CREATE TABLE archive_chunk (
  seq {{KEY}},
  owner BIGINT NOT NULL,
  with_jid TEXT,
  first_when BIGINT NOT NULL,
  last_when BIGINT NOT NULL,
  n INTEGER NOT NULL,
  items TEXT NOT NULL
)`,
  `INSERT INTO archive_chunk (seq, owner, with_jid, first_when, last_when, n, items)
  {{OVERRIDING}}SELECT seq, owner, with_jid, "when", "when", 1,
    '[[' || {{JSON_QUOTE}}(id) || ',' || "when" || ',' || value || ']]'
  FROM archive ORDER BY seq`,
  `DROP INDEX archive_id`,
  `CREATE TABLE archive_ids (
  owner BIGINT NOT NULL,
  id TEXT NOT NULL,
  chunk BIGINT NOT NULL,
  PRIMARY KEY (owner, id)
){{WITHOUT_ROWID}}`,
  `INSERT INTO archive_ids (owner, id, chunk) SELECT owner, id, seq FROM archive WHERE timed = 0`,
  `DROP TABLE archive`,
  `CREATE INDEX archive_ids_chunk ON archive_ids (chunk)`,
  `CREATE INDEX archive_chunk_when ON archive_chunk (owner, first_when, last_when)`,
  `CREATE INDEX archive_chunk_with ON archive_chunk (owner, with_jid, first_when, last_when)`,
  `CREATE INDEX archive_chunk_when_many ON archive_chunk (owner, first_when, last_when, n) WHERE n > 1`,
  `CREATE INDEX archive_chunk_with_many ON archive_chunk (owner, with_jid, first_when, last_when, n)
  WHERE n > 1`,
];

/** Migration steps by the version they produce, oldest first. */
const MIGRATIONS: { version: number; statements: string[] }[] = [
  { version: 1, statements: V1 },
  { version: 2, statements: V2 },
  { version: 3, statements: V3 },
  { version: 4, statements: V4 },
];

const TOKENS: Record<Dialect, Record<string, string>> = {
  sqlite: {
    SEQ: "INTEGER PRIMARY KEY AUTOINCREMENT",
    KEY: "INTEGER PRIMARY KEY",
    WITHOUT_ROWID: " WITHOUT ROWID",
    OVERRIDING: "",
    JSON_QUOTE: "json_quote",
  },
  postgres: {
    SEQ: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    KEY: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    WITHOUT_ROWID: "",
    OVERRIDING: "OVERRIDING SYSTEM VALUE ",
    JSON_QUOTE: "to_json",
  },
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
  // A chat message is archived twice, for its sender and its recipient,
  // as two equal strings one after the other: the second is encoded once.
  if (typeof value === "string" && value === lastString) return lastStringText;
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`storage: value is not JSON (${typeof value})`);
  if (typeof value === "string") lastString = value, lastStringText = text;
  return text;
}

let lastString: string | undefined;
let lastStringText = "";

export function decodeValue(text: string): Json {
  return JSON.parse(text) as Json;
}

/**
 * A new archive id: the time in milliseconds (12 hex digits), then 80
 * random bits in the shape of a UUID's tail
 * (`xxxxxxxxxxxx-xxxx-xxxx-xxxxxxxxxxxx`). The ids are clients' stanza ids
 * (XEP-0359), which must let nobody infer anything (§6): a counter here,
 * shared by every archive of the process, told a user how many messages
 * the server archived for everyone between two of theirs. The time is no
 * secret: a query returns it with every item. Unique: two ids of one
 * millisecond collide with a chance of 2^-80.
 *
 * Time first: stored with that time as its "when" the id is "timed" (V3)
 * and found through the time index, with no id index entry to write. Made
 * from a pool of random bytes and a hex table: a randomUUID per id cost
 * more than the rest of an append in the batched-append path.
 */
export function newArchiveId(when = Date.now()): string {
  if (poolAt + ID_RANDOM_BYTES > pool.length) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  const p = pool;
  const i = poolAt;
  poolAt += ID_RANDOM_BYTES;
  return timePrefix(when) + "-" + HEX[p[i]] + HEX[p[i + 1]] + "-" + HEX[p[i + 2]] +
    HEX[p[i + 3]] + "-" + HEX[p[i + 4]] + HEX[p[i + 5]] + HEX[p[i + 6]] + HEX[p[i + 7]] +
    HEX[p[i + 8]] + HEX[p[i + 9]];
}

const ID_RANDOM_BYTES = 10;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
/** Random bytes for ids, refilled when used up (one call per 409 ids). */
const pool = new Uint8Array(4096);
let poolAt = pool.length;

let lastPrefixTime = NaN;
let lastPrefix = "";

/** The 12 hex digits of a time; the last one cached (many ids share a millisecond). */
function timePrefix(when: number): string {
  if (when !== lastPrefixTime) {
    lastPrefixTime = when;
    lastPrefix = when.toString(16).padStart(12, "0");
  }
  return lastPrefix;
}

const TIMED_ID = /^[0-9a-f]{12}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The time an id of newArchiveId's shape names (its first 12 hex digits),
 * or undefined for any other id. Stored with that time as its "when", such
 * an id is "timed" (schema V3) and needs no entry in archive_id.
 */
export function archiveIdTime(id: string): number | undefined {
  return TIMED_ID.test(id) ? parseInt(id.slice(0, 12), 16) : undefined;
}

/** Checks an appended item's fields; returns them with defaults applied. */
export function prepareArchiveItem(item: ArchiveAppend): {
  id: string;
  when: number;
  /** The id names the item's time (found through the time index, schema V3/V4). */
  timed: boolean;
  /** The id came from newArchiveId for this item: no duplicate check needed. */
  generated: boolean;
  with: string | null;
  text: string;
} {
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
  const generated = item.id === undefined || item.generated === true;
  const id = item.id ?? newArchiveId(when);
  return {
    id,
    when,
    generated,
    // A generated id's shape is known: only its time needs comparing. Not
    // for a time outside 12 hex digits (negative, or from year 10889 on):
    // its prefix is not of that shape, so archiveIdTime cannot read it back.
    timed: generated && when >= 0 && when < 2 ** 48
      ? id.startsWith(timePrefix(when))
      : archiveIdTime(id) === when,
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

/** A page size of `MapStore.getPage`: a positive whole number. */
export function pageLimit(limit: number): number {
  if (!(limit >= 1) || !Number.isSafeInteger(limit)) {
    throw new RangeError(`storage: bad page size ${limit}`);
  }
  return limit;
}

/** The error both drivers throw when an appended id is already in the archive. */
export function duplicateIdError(id: string): Error {
  return new Error(`storage: archive id already exists: ${id}`);
}
