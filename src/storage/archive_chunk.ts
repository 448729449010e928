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
export const CHUNK_MAX_BYTES = 256 * 1024;

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
export function decodeChunk(
  seq: number,
  withJid: string | null,
  stored: string | Uint8Array,
): Located[] {
  const items = JSON.parse(chunkText(stored)) as StoredItem[];
  const out: Located[] = new Array(items.length);
  for (let idx = 0; idx < items.length; idx++) {
    const [id, when, value] = items[idx];
    out[idx] = { id, when, value, seq, idx, with: withJid };
  }
  return out;
}

/**
 * A chunk being filled by the appends of the open write batch: its items
 * are encoded as UTF-8 JSON into a buffer at once, so what a batch holds
 * for its ~20 ms lies outside the JavaScript heap. Strings kept that long
 * outlived young-generation collections and were promoted, and collecting
 * them cost more than writing them (bench/results/2026-12-07-archive-chunks.md).
 */
export class OpenChunk {
  #buf = takeBuffer();
  #used = 1;
  #items = 0;
  lastWhen: number;
  /** Ids that are not timed at their item's time: each needs an archive_ids row. */
  readonly untimed: string[] = [];

  constructor(readonly owner: number, readonly withJid: string | null, readonly firstWhen: number) {
    this.lastWhen = firstWhen;
    this.#buf[0] = 0x5b; // [
  }

  get size(): number {
    return this.#items;
  }

  /** Bytes of JSON so far. */
  get bytesUsed(): number {
    return this.#used;
  }

  /**
   * Whether an item at `when`, of `chars` characters of JSON, may join;
   * otherwise it starts a chunk of its own (out of time order, past the
   * span, or full). `chars * 3` bounds its UTF-8 size.
   */
  accepts(when: number, chars: number): boolean {
    return when >= this.lastWhen && when - this.firstWhen <= CHUNK_SPAN_MS &&
      this.#items < CHUNK_MAX_ITEMS && this.#used + chars * 3 + 3 <= CHUNK_MAX_BYTES;
  }

  /** Adds an item given as `head` (`[id,when,`) and its value's JSON. */
  add(when: number, head: string, valueText: string, untimedId?: string): void {
    const need = this.#used + (head.length + valueText.length) * 3 + 3;
    if (need > this.#buf.length) {
      const grown = new Uint8Array(Math.max(need, this.#buf.length * 2));
      grown.set(this.#buf.subarray(0, this.#used));
      this.#buf = grown;
    }
    const buf = this.#buf;
    if (this.#items > 0) buf[this.#used++] = 0x2c; // ,
    // One call: each encodeInto crosses into the runtime, which costs more
    // than joining the strings first.
    this.#used += encoder.encodeInto(head + valueText + "]", buf.subarray(this.#used)).written;
    this.#items++;
    this.lastWhen = when;
    if (untimedId !== undefined) this.untimed.push(untimedId);
  }

  /** The chunk's JSON as UTF-8 (a view of the buffer: write it, then `release`). */
  bytes(): Uint8Array {
    this.#buf[this.#used] = 0x5d; // ]
    return this.#buf.subarray(0, this.#used + 1);
  }

  /** Once written: the buffer goes back to the pool, and this chunk is done. */
  release(): void {
    const buf = this.#buf;
    this.#buf = EMPTY;
    if (buf.length <= POOLED_MAX_BYTES && pool.length < POOL_MAX) pool.push(buf);
  }
}

/**
 * Buffers of written chunks, for new ones: under load a chunk grows to
 * ~12 KiB, and allocating and growing an ArrayBuffer for each cost more
 * than encoding into it. At most POOL_MAX × POOLED_MAX_BYTES (4 MiB) kept.
 */
const pool: Uint8Array[] = [];
const POOL_MAX = 128;
const POOLED_MAX_BYTES = 32 * 1024;
const FIRST_BYTES = 2048;
const EMPTY = new Uint8Array(0);

function takeBuffer(): Uint8Array {
  return pool.pop() ?? new Uint8Array(FIRST_BYTES);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A stored chunk's JSON: text from older rows and rewrites, UTF-8 from appends. */
export function chunkText(items: string | Uint8Array): string {
  return typeof items === "string" ? items : decoder.decode(items);
}

/** The start of an item's JSON, up to its value: `[id,when,`. */
export function itemHead(id: string, when: number): string {
  return "[" + JSON.stringify(id) + "," + when + ",";
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
