/**
 * Archive queries over chunks (schema.ts V4, archive_chunk.ts): find an
 * item by id, pick the items a query asks for, count them.
 *
 * A walk goes over an owner's chunks through archive_chunk_when (or
 * archive_chunk_with) by first_when, decodes those that may hold wanted
 * items, and keeps the best `limit` (TopItems). It stops once no later
 * chunk can hold a better item, which the span bound makes a question of
 * first_when alone. Counts take whole chunks inside the bounds from the
 * indexes and decode only the chunks at the two edges.
 */
import type { StatementSync } from "node:sqlite";
import type { ArchiveQuery, Json } from "./types.ts";
import { archiveIdTime, queryLimit } from "./schema.ts";
import {
  CHUNK_SPAN_MS,
  chunkText,
  comparePlaces,
  decodeChunk,
  type Located,
  TopItems,
} from "./archive_chunk.ts";

/**
 * Time bounds of a query that gave none: beyond every stored time (any
 * safe integer), and still beyond it after arithmetic with the span.
 */
const MIN_TIME = -Infinity;
const MAX_TIME = Infinity;

const CHUNK_COLUMNS = "seq, with_jid, first_when, items";

export function decodeRow(row: Record<string, unknown>): Located[] {
  return decodeChunk(Number(row.seq), row.with_jid as string | null, row.items as Uint8Array);
}

/** A query's bounds, resolved: undefined positions mean none was asked. */
interface Bounds {
  q: ArchiveQuery;
  after?: Located;
  before?: Located;
  /** Every wanted item's time lies in [low, high]. */
  low: number;
  high: number;
}

export class ArchiveQueries {
  /** `stmt`: a prepared statement of the driver's connection, cached by its text. */
  constructor(readonly stmt: (sql: string) => StatementSync) {}

  /** The stored item with this id, or undefined. */
  locate(owner: number, id: string): Located | undefined {
    const named = this.stmt(`SELECT chunk FROM archive_ids WHERE owner = ? AND id = ?`)
      .get(owner, id);
    if (named) {
      const row = this.stmt(`SELECT ${CHUNK_COLUMNS} FROM archive_chunk WHERE seq = ?`)
        .get(named.chunk as number);
      return row ? decodeRow(row).find((i) => i.id === id) : undefined;
    }
    const when = archiveIdTime(id);
    if (when === undefined) return undefined;
    // A chunk holding that time starts within the span before it. The
    // text test skips decoding chunks that cannot hold the id.
    const quoted = JSON.stringify(id);
    const rows = this.stmt(
      `SELECT ${CHUNK_COLUMNS} FROM archive_chunk INDEXED BY archive_chunk_when
       WHERE owner = ? AND first_when >= ? AND first_when <= ? AND last_when >= ?`,
    ).all(owner, when - CHUNK_SPAN_MS, when, when);
    for (const row of rows) {
      const text = chunkText(row.items as Uint8Array);
      if (!text.includes(quoted)) continue;
      const items = decodeChunk(Number(row.seq), row.with_jid as string | null, text);
      const found = items.find((i) => i.id === id && i.when === when);
      if (found) return found;
    }
    return undefined;
  }

  /** A query's positions and time range; undefined when it can match nothing. */
  #bounds(owner: number, q: ArchiveQuery): Bounds | undefined {
    const b: Bounds = { q, low: q.start ?? MIN_TIME, high: q.end ?? MAX_TIME };
    if (q.after !== undefined) {
      if (!(b.after = this.locate(owner, q.after))) return undefined;
      b.low = Math.max(b.low, b.after.when);
    }
    if (q.before !== undefined) {
      if (!(b.before = this.locate(owner, q.before))) return undefined;
      b.high = Math.min(b.high, b.before.when);
    }
    return b.low <= b.high ? b : undefined;
  }

  /** Whether a stored item matches the query (its chunk already matched `with`). */
  #wanted(b: Bounds, item: Located): boolean {
    return item.when >= b.low && item.when <= b.high &&
      (b.after === undefined || comparePlaces(item, b.after) > 0) &&
      (b.before === undefined || comparePlaces(item, b.before) < 0);
  }

  /**
   * FROM and the owner/with condition of a walk over chunks; `many`, the
   * partial index of chunks of several items (WHERE n > 1 included).
   */
  #chunks(
    owner: number,
    q: ArchiveQuery,
    many = false,
  ): { from: string; where: string; params: Json[] } {
    const index = (q.with === undefined ? "archive_chunk_when" : "archive_chunk_with") +
      (many ? "_many" : "");
    const where = (q.with === undefined ? "owner = ?" : "owner = ? AND with_jid = ?") +
      (many ? " AND n > 1" : "");
    const params = q.with === undefined ? [owner] : [owner, q.with];
    return {
      from: `archive_chunk INDEXED BY ${index}`,
      where,
      params,
    };
  }

  /** Items in the chunks that lie wholly within [lo, hi]: entries, plus n − 1 for the larger ones. */
  #countInside(owner: number, q: ArchiveQuery, lo: number, hi: number): number {
    const range = lo === MIN_TIME && hi === MAX_TIME ? { sql: "", params: [] } : {
      sql: " AND first_when >= ? AND first_when <= ? AND last_when <= ?",
      params: [lo, hi, hi],
    };
    const one = this.#chunks(owner, q);
    const many = this.#chunks(owner, q, true);
    const chunks = this.stmt(
      `SELECT count(*) AS n FROM ${one.from} WHERE ${one.where}${range.sql}`,
    ).get(...one.params as number[], ...range.params);
    const extra = this.stmt(
      `SELECT total(n - 1) AS n FROM ${many.from} WHERE ${many.where}${range.sql}`,
    ).get(...many.params as number[], ...range.params);
    return Number(chunks?.n ?? 0) + Number(extra?.n ?? 0);
  }

  /** The items a query picks, in result order. */
  select(owner: number, q: ArchiveQuery): Located[] {
    const limit = queryLimit(q.limit) ?? Infinity;
    if (limit === 0 || (q.ids && q.ids.length === 0)) return [];
    const b = this.#bounds(owner, q);
    if (!b) return [];
    const top = new TopItems(limit, q.reverse === true);
    if (q.ids) {
      for (const id of new Set(q.ids)) {
        const item = this.locate(owner, id);
        if (item && (q.with === undefined || item.with === q.with) && this.#wanted(b, item)) {
          top.add(item);
        }
      }
      return top.items;
    }
    const c = this.#chunks(owner, q);
    const dir = q.reverse ? "DESC" : "ASC";
    const walk = this.stmt(
      `SELECT ${CHUNK_COLUMNS} FROM ${c.from} WHERE ${c.where}
       AND first_when >= ? AND first_when <= ? AND last_when >= ? ORDER BY first_when ${dir}`,
    );
    for (const row of walk.iterate(...c.params as number[], b.low - CHUNK_SPAN_MS, b.high, b.low)) {
      const first = Number(row.first_when);
      const worst = top.full ? top.last! : undefined;
      // Every later chunk's items are no better than what is kept.
      if (worst && (q.reverse ? worst.when > first + CHUNK_SPAN_MS : worst.when < first)) break;
      // Newest first: the chunk's items from its end, so each lands at the list's end.
      const items = decodeRow(row);
      if (q.reverse) items.reverse();
      for (const item of items) if (this.#wanted(b, item)) top.add(item);
    }
    return top.items;
  }

  count(owner: number, q: ArchiveQuery): number {
    const limit = queryLimit(q.limit);
    if (q.ids) return this.select(owner, q).length;
    if (limit === 0) return 0;
    const b = this.#bounds(owner, q);
    if (!b) return 0;
    // Whole chunks inside [lo, hi] count by `n` from the index; the chunks
    // at the two edges are decoded. A chunk is inside when all of its
    // items are strictly after the `after` item's time and before the
    // `before` item's (equal times are decided by place). Stored times are
    // integers, so lo and hi are too: the edge conditions below (`lo - 1`,
    // `hi + 1`) rely on it, and a fractional start or end is allowed.
    const lo = Math.ceil(Math.max(q.start ?? MIN_TIME, b.after ? b.after.when + 1 : MIN_TIME));
    const hi = Math.floor(Math.min(q.end ?? MAX_TIME, b.before ? b.before.when - 1 : MAX_TIME));
    const c = this.#chunks(owner, q);
    let n = 0;
    if (lo <= hi) {
      n += this.#countInside(owner, q, lo, hi);
    }
    const edge = this.stmt(
      `SELECT ${CHUNK_COLUMNS} FROM ${c.from} WHERE ${c.where}
       AND first_when >= ? AND first_when <= ? AND last_when >= ?`,
    );
    const edges = [
      // Starting before lo, reaching into the range.
      ...edge.all(
        ...c.params as number[],
        b.low - CHUNK_SPAN_MS,
        Math.min(lo - 1, b.high),
        b.low,
      ),
      // Starting at lo or later, ending past hi (so starting within the span before it).
      ...edge.all(
        ...c.params as number[],
        Math.max(lo, hi - CHUNK_SPAN_MS + 1),
        b.high,
        hi + 1,
      ),
    ];
    for (const row of edges) for (const item of decodeRow(row)) if (this.#wanted(b, item)) n++;
    return limit === undefined ? n : Math.min(n, limit);
  }
}
