/**
 * What an output overflow would lose: the items (stanzas) written to a
 * connection whose bytes may not have reached the kernel yet. The owner
 * records each item as it writes it; when the connection's output mark is
 * passed, `stop` keeps those not yet flushed (and any written after) for
 * the owner to hand on: c2s sessions to offline storage, s2s streams back
 * to their senders as bounces.
 */
import type { Connection } from "./connection.ts";

interface Unsent<T> {
  /** Offset of the item's last character in the connection's output. */
  end: number;
  item: T;
}

export class UnsentTracker<T> {
  /** Oldest first; pruned on every record, so it never spans more than the output mark. */
  #unsent: Unsent<T>[] = [];
  #kept: T[] | undefined;
  #stopped = false;

  constructor(readonly conn: Pick<Connection, "written" | "pending">) {}

  /** True once `stop` ran: the owner keeps items instead of writing them. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * `item`, serialized as `length` characters, is about to be written.
   * Called before the write: the write may be the one that overflows.
   */
  record(item: T, length: number): void {
    this.#prune();
    this.#unsent.push({ end: this.conn.written + length, item });
  }

  /** An item not written since `stop` (it goes with the kept ones, until taken). */
  keep(item: T): void {
    this.#kept?.push(item);
  }

  /** The output overflowed: what was not handed to the kernel yet is kept. */
  stop(): void {
    if (this.#stopped) return;
    this.#prune();
    this.#stopped = true;
    this.#kept = this.#unsent.map((u) => u.item);
    this.#unsent = [];
  }

  /** The items kept since `stop`, oldest first, once; later ones are dropped. */
  take(): T[] {
    const out = this.#kept ?? [];
    this.#kept = undefined;
    return out;
  }

  /** Forget items whose bytes are all in the kernel's hands. */
  #prune(): void {
    const flushed = this.conn.written - this.conn.pending;
    let i = 0;
    while (i < this.#unsent.length && this.#unsent[i].end <= flushed) i++;
    if (i > 0) this.#unsent.splice(0, i);
  }
}
