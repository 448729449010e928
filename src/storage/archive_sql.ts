/**
 * The SQL of archive queries, shared by find, count and delete (and by
 * bench/mam_page_bench.ts, which prints each shape's query plan).
 *
 * find, count and delete all build on one filter (`filterSql`), so they
 * always agree on the set (count(q) === find(q).length, limit included).
 * Index use, checked with EXPLAIN QUERY PLAN for every shape (see
 * bench/results/2026-12-06-mam-page.md): a `with` filter searches
 * archive_with, anything else archive_when, both with "when" as a range
 * (start/end, and the after/before position's time); ids are looked up
 * by `position` and the `ids` subquery (timed ids through archive_when). Every query is of one owner (the archive's integer key for
 * host, user and store, schema.ts V3).
 */
import type { SQLInputValue } from "node:sqlite";
import type { ArchiveQuery } from "./types.ts";
import { archiveIdTime, queryLimit } from "./schema.ts";

interface Filter {
  from: string;
  where: string;
  params: SQLInputValue[];
  limit: number | undefined;
}

/** FROM and WHERE of a query; undefined when it can match nothing without asking the database. */
function filterSql(owner: number, q: ArchiveQuery): Filter | undefined {
  const limit = queryLimit(q.limit);
  if (limit === 0 || (q.ids && q.ids.length === 0)) return undefined;
  const conds = ["owner = ?"];
  const params: SQLInputValue[] = [owner];
  if (q.start !== undefined) conds.push(`"when" >= ?`), params.push(q.start);
  if (q.end !== undefined) conds.push(`"when" <= ?`), params.push(q.end);
  if (q.with !== undefined) conds.push("with_jid = ?"), params.push(q.with);
  // The rows of the ids, by rowid: other ids through archive_id, timed
  // ones (schema.ts V3) through archive_when as (owner, "when", id). Two
  // parameters however many ids: keeps the statement text (and cache) fixed.
  if (q.ids) {
    const timed: [number, string][] = [];
    for (const id of q.ids) {
      const when = archiveIdTime(id);
      if (when !== undefined) timed.push([when, id]);
    }
    conds.push(`seq IN (SELECT seq FROM archive WHERE owner = ? AND timed = 0
      AND id IN (SELECT value FROM json_each(?))
      UNION ALL SELECT a.seq FROM json_each(?) AS j CROSS JOIN archive AS a
      WHERE a.owner = ? AND a."when" = json_extract(j.value, '$[0]') AND a.timed = 1
        AND a.id = json_extract(j.value, '$[1]'))`);
    params.push(owner, JSON.stringify(q.ids), JSON.stringify(timed), owner);
  }
  // Row-value comparison against the reference item's position; an
  // unknown id gives an empty subquery, NULL, and so no rows. SQLite
  // turns it into a range on "when" in the index.
  if (q.after !== undefined) {
    const p = position(owner, q.after);
    conds.push(`("when", seq) > ${p.sql}`), params.push(...p.params);
  }
  if (q.before !== undefined) {
    const p = position(owner, q.before);
    conds.push(`("when", seq) < ${p.sql}`), params.push(...p.params);
  }
  // The planner has no statistics (no ANALYZE) and guesses. An id list is
  // short: a lookup per id and a sort beats walking the user's archive in
  // time order. A `with` filter is served by archive_with whatever the
  // time bounds: given both start and end the planner took archive_when
  // and read every row of the range to test with_jid (7–12 ms against
  // 0.1 ms for a year of 200 000 rows, bench/results/2026-12-06-mam-page.md).
  const from = q.ids
    ? "archive NOT INDEXED" // rowid lookups only
    : q.with !== undefined
    ? "archive INDEXED BY archive_with"
    : "archive";
  return { from, where: conds.join(" AND "), params, limit };
}

/**
 * ("when", seq) of the item with this id: a timed id (schema.ts V3) is
 * looked up through archive_when as (owner, "when", id) and, should a
 * caller have stored one at another time, through archive_id; any other
 * id through archive_id only.
 */
function position(owner: number, id: string): { sql: string; params: SQLInputValue[] } {
  const when = archiveIdTime(id);
  const other = `SELECT "when", seq FROM archive WHERE owner = ? AND timed = 0 AND id = ?`;
  if (when === undefined) return { sql: `(${other})`, params: [owner, id] };
  return {
    sql: `(SELECT "when", seq FROM archive
      WHERE owner = ? AND "when" = ? AND timed = 1 AND id = ? UNION ALL ${other})`,
    params: [owner, when, id, owner, id],
  };
}

/**
 * A row when the archive holds an item with a timed-shaped id, whichever
 * way it is stored: archive_id's uniqueness covers only untimed ids, so
 * an append checks these itself. Undefined for other ids.
 */
export function timedIdExistsSql(
  owner: number,
  id: string,
): { sql: string; params: SQLInputValue[] } | undefined {
  if (archiveIdTime(id) === undefined) return undefined;
  const p = position(owner, id);
  return { sql: `SELECT 1 AS found FROM ${p.sql} LIMIT 1`, params: p.params };
}

/**
 * The SELECT of the rows a query picks, in result order. Returns undefined
 * when the query can match nothing without asking the database.
 */
export function selectSql(
  owner: number,
  q: ArchiveQuery,
  columns: string,
): { sql: string; params: SQLInputValue[] } | undefined {
  const f = filterSql(owner, q);
  if (!f) return undefined;
  const dir = q.reverse ? "DESC" : "ASC";
  let sql = `SELECT ${columns} FROM ${f.from} WHERE ${f.where} ORDER BY "when" ${dir}, seq ${dir}`;
  if (f.limit !== undefined) sql += " LIMIT ?", f.params.push(f.limit);
  return { sql, params: f.params };
}

/**
 * The count of what `selectSql` picks. Without a limit it counts the
 * index range directly: the ordered subquery a limit needs costs about a
 * third more per row (measured over 200 000 rows), and RSM counts whole
 * result sets.
 */
export function countSql(
  owner: number,
  q: ArchiveQuery,
): { sql: string; params: SQLInputValue[] } | undefined {
  if (q.limit !== undefined) {
    const s = selectSql(owner, q, "1");
    return s && { sql: `SELECT count(*) AS n FROM (${s.sql})`, params: s.params };
  }
  const f = filterSql(owner, q);
  return f && { sql: `SELECT count(*) AS n FROM ${f.from} WHERE ${f.where}`, params: f.params };
}
