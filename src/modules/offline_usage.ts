/**
 * What each user's offline box holds: how many messages, and how many
 * bytes their stored stanzas take, so the byte limit is checked without
 * reading the box for every new message.
 *
 * The totals live in memory only. A user's is derived from storage the
 * first time it is needed (after a restart, say), then kept up to date as
 * messages are added and delivered. Storage's own count, which the caller
 * reads anyway for the count limit, tells when the box changed behind our
 * back (an account removed and created again, a CLI command on the
 * database): a total whose count disagrees is derived again.
 *
 * Callers hold the user's storage queue around each call, so no two
 * changes to one box interleave.
 */
import type { ArchiveItem, ArchiveStore } from "../storage/types.ts";
import { utf8Length } from "../util/utf8_length.ts";

export interface Tally {
  count: number;
  bytes: number;
}

export interface BoxUsage extends Tally {
  /** Per sender: the items' `with` (a bare JID); messages without one are not in it. */
  bySender: Map<string, Tally>;
  /** Per sender's domain: a server or component may send as any user of its domain. */
  byDomain: Map<string, Tally>;
}

const NONE: Readonly<Tally> = { count: 0, bytes: 0 };

/** What `sender` (or `domain`) holds in the box. */
export const tallyOf = (map: Map<string, Tally>, key: string): Readonly<Tally> =>
  map.get(key) ?? NONE;

/** The domain of a bare JID (what follows the @; a domain JID is its own). */
export function domainOf(bare: string): string {
  return bare.slice(bare.indexOf("@") + 1);
}

/** What `removed` needs of each message deleted. */
export interface RemovedItem {
  with?: string;
  bytes: number;
}

/** Items read per storage query while deriving a total: a box stored before
 * the byte limit existed may hold hundreds of MB, never all in memory. */
const PAGE = 64;

/** The bytes one stored message counts for: its serialized stanza in UTF-8. */
export function storedBytes(stanza: string): number {
  return utf8Length(stanza);
}

/** The serialized stanza of a stored item ("" when it is not one). */
export function storedStanza(item: ArchiveItem): string {
  const value = item.value as { stanza?: unknown } | null;
  return typeof value?.stanza === "string" ? value.stanza : "";
}

const empty = (): BoxUsage => ({ count: 0, bytes: 0, bySender: new Map(), byDomain: new Map() });

export class OfflineUsage {
  readonly #archive: ArchiveStore;
  /** Only users with messages stored: an emptied box drops its entry. */
  readonly #known = new Map<string, BoxUsage>();

  constructor(archive: ArchiveStore) {
    this.#archive = archive;
  }

  /** `count`: what storage counts for `user` now. Read only; change it through added/removed. */
  async get(user: string, count: number): Promise<Readonly<BoxUsage>> {
    const known = this.#known.get(user);
    if (known?.count === count) return known;
    this.#known.delete(user);
    if (count === 0) return empty();
    const usage = await this.#derive(user);
    if (usage.count > 0) this.#known.set(user, usage);
    return usage;
  }

  /** A message of `bytes` from `sender` was stored; `get` was called first, in the same job. */
  added(user: string, sender: string | undefined, bytes: number): void {
    let usage = this.#known.get(user);
    if (!usage) this.#known.set(user, usage = empty());
    add(usage, sender, bytes, 1);
  }

  /**
   * Messages were deleted: `deleted` as storage counted them, `items` the
   * ones asked for. When storage deleted fewer than asked (some were gone
   * already), the total is derived again next time.
   */
  removed(user: string, items: RemovedItem[], deleted: number): void {
    const usage = this.#known.get(user);
    if (!usage) return;
    if (deleted !== items.length || usage.count - deleted <= 0) {
      this.#known.delete(user);
      return;
    }
    for (const item of items) add(usage, item.with, item.bytes, -1);
  }

  /** Users with a total in memory (for tests). */
  get size(): number {
    return this.#known.size;
  }

  async #derive(user: string): Promise<BoxUsage> {
    const usage = empty();
    let after: string | undefined;
    // Bounded: each round reads a page past the last id, and the box is finite.
    for (;;) {
      const items = await this.#archive.find(user, { after, limit: PAGE });
      for (const item of items) add(usage, item.with, storedBytes(storedStanza(item)), 1);
      if (items.length < PAGE) return usage;
      after = items[items.length - 1].id;
      // SQLite answers synchronously: a box from before the byte limit (up to
      // 256 MB) must not hold the event loop for the whole read.
      await new Promise((r) => setTimeout(r, 0));
    }
  }
}

/** Count one message in (`sign` 1) or out (-1). */
function add(usage: BoxUsage, sender: string | undefined, bytes: number, sign: 1 | -1): void {
  tally(usage, bytes, sign);
  if (sender === undefined) return;
  tallyIn(usage.bySender, sender, bytes, sign);
  tallyIn(usage.byDomain, domainOf(sender), bytes, sign);
}

function tally(t: Tally, bytes: number, sign: 1 | -1): void {
  t.count += sign;
  t.bytes = Math.max(0, t.bytes + sign * bytes);
}

/** An entry that reaches no messages goes: the maps hold only who is in the box. */
function tallyIn(map: Map<string, Tally>, key: string, bytes: number, sign: 1 | -1): void {
  let t = map.get(key);
  if (!t) map.set(key, t = { count: 0, bytes: 0 });
  tally(t, bytes, sign);
  if (t.count <= 0) map.delete(key);
}
