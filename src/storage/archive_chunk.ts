/**
 * The archive's chunks (schema.ts V4), apart from SQL: the open chunk a
 * write batch fills, the stored text, and archive order.
 *
 * A chunk holds the items one owner appended with one `with` (or none)
 * within one write batch, in archive order, at most CHUNK_SPAN_MS apart.
 * The span bound is what lets a query find every chunk that may hold an
 * item at time t through an index on first_when alone: such a chunk
 * starts in [t − CHUNK_SPAN_MS, t].
 */
import type { Json } from "./types.ts";

/** The longest time between the first and the last item of a chunk. */
export const CHUNK_SPAN_MS = 100;

/**
 * Items and characters per chunk: a query that needs one item of a chunk
 * decodes all of it, so a chunk stays small (256 chat messages are about
 * 100 KB of JSON).
 */
export const CHUNK_MAX_ITEMS = 256;
export const CHUNK_MAX_CHARS = 256 * 1024;

/** An item's place in archive order: time, then chunk, then place in the chunk. */
export interface Place {
  when: number;
  seq: number;
  idx: number;
}

/** Negative when `a` comes first in archive order. */
export function comparePlaces(a: Place, b: Place): number {
  return a.when - b.when || a.seq - b.seq || a.idx - b.idx;
}

/** A stored item read back, with its place and its chunk's `with`. */
export interface Located extends Place {
  id: string;
  with: string | null;
  value: Json;
}

/** A stored item as the chunk's JSON holds it. */
export type StoredItem = [id: string, when: number, value: Json];

/** The items of a stored chunk row, in order, with their places. */
export function decodeChunk(seq: number, withJid: string | null, text: string): Located[] {
  const items = JSON.parse(text) as StoredItem[];
  const out: Located[] = new Array(items.length);
  for (let idx = 0; idx < items.length; idx++) {
    const [id, when, value] = items[idx];
    out[idx] = { id, when, value, seq, idx, with: withJid };
  }
  return out;
}

/**
 * A chunk being filled by the appends of the open write batch: its items
 * are already encoded, so writing it is one string join.
 */
export class OpenChunk {
  readonly #parts: string[] = [];
  #chars = 2;
  lastWhen: number;
  /** Ids that are not timed at their item's time: each needs an archive_ids row. */
  readonly untimed: string[] = [];

  constructor(readonly owner: number, readonly withJid: string | null, readonly firstWhen: number) {
    this.lastWhen = firstWhen;
  }

  get size(): number {
    return this.#parts.length;
  }

  /**
   * Whether an item at `when`, encoded as `part`, may join; otherwise it
   * starts a chunk of its own (out of time order, past the span, or full).
   */
  accepts(when: number, part: string): boolean {
    return when >= this.lastWhen && when - this.firstWhen <= CHUNK_SPAN_MS &&
      this.#parts.length < CHUNK_MAX_ITEMS && this.#chars + part.length < CHUNK_MAX_CHARS;
  }

  add(when: number, part: string, untimedId?: string): void {
    this.#parts.push(part);
    this.#chars += part.length + 1;
    this.lastWhen = when;
    if (untimedId !== undefined) this.untimed.push(untimedId);
  }

  text(): string {
    return "[" + this.#parts.join(",") + "]";
  }
}

/** One item as chunk JSON; `valueText` is the value's JSON already. */
export function encodeItem(id: string, when: number, valueText: string): string {
  return "[" + JSON.stringify(id) + "," + when + "," + valueText + "]";
}

/**
 * A bounded list of the best `limit` items in result order (ascending, or
 * descending for `reverse`). Items mostly arrive nearly in order, so an
 * insert searches from the end.
 */
export class TopItems {
  readonly items: Located[] = [];
  constructor(readonly limit: number, readonly reverse: boolean) {}

  #before(a: Located, b: Located): boolean {
    const c = comparePlaces(a, b);
    return this.reverse ? c > 0 : c < 0;
  }

  get full(): boolean {
    return this.items.length >= this.limit;
  }

  /** The worst item kept (the one an insert would push out). */
  get last(): Located | undefined {
    return this.items[this.items.length - 1];
  }

  add(item: Located): void {
    const items = this.items;
    if (this.full && !this.#before(item, items[items.length - 1])) return;
    let i = items.length;
    while (i > 0 && this.#before(item, items[i - 1])) i--;
    items.splice(i, 0, item);
    if (items.length > this.limit) items.pop();
  }
}
