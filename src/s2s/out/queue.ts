/**
 * The stanzas an outgoing s2s stream has not written yet: while it
 * connects, while a joining domain waits for its answer, and once ready
 * while the pump flushes them at the pace the peer reads. Bounded by
 * s2s.maxQueuedBytes per stream and s2s.maxQueuedBytesTotal over all
 * streams (the shared `total` counter): without the bound, senders could
 * grow memory without limit for as long as a slow or unreachable domain
 * keeps the stream connecting.
 */
import type { Element } from "../../xml/element.ts";

/** A stanza waiting to be written, with its serialized form (counted against the bound). */
export interface Queued {
  stanza: Element;
  data: string;
}

export interface QueueBounds {
  maxQueuedBytes: number;
  maxQueuedBytesTotal: number;
}

export class OutQueue {
  /** The stream's own queue, from `#head` on. */
  #items: Queued[] = [];
  #head = 0;
  /** Serialized size of every queued stanza (here and in joining domains' queues). */
  #bytes = 0;
  #pumping = false;

  constructor(
    readonly bounds: () => QueueBounds,
    /** Bytes queued over all outgoing streams. */
    readonly total: { bytes: number },
  ) {}

  get bytes(): number {
    return this.#bytes;
  }

  /** Nothing of the stream's own waits: a new stanza may be written at once. */
  get drained(): boolean {
    return this.#head === this.#items.length;
  }

  /** The stream's own queue, for `room`/`add` (joining domains have queues of their own). */
  get main(): Queued[] {
    return this.#items;
  }

  /**
   * Is there room for `size` more bytes? "stream": this stream's bound is
   * passed; "all": all streams' bound is.
   */
  room(size: number): "ok" | "stream" | "all" {
    const { maxQueuedBytes, maxQueuedBytesTotal } = this.bounds();
    if (this.#bytes + size > maxQueuedBytes) return "stream";
    // Over all streams too: many senders could otherwise fill one queue per domain.
    if (this.total.bytes + size > maxQueuedBytesTotal) return "all";
    return "ok";
  }

  /** Onto `list` (the main queue or a joining domain's), counted. */
  add(list: Queued[], q: Queued): void {
    this.#count(q.data.length);
    list.push(q);
  }

  /** A joining domain's stanzas, already counted, behind the main queue. */
  moveIn(list: Queued[]): void {
    for (const q of list.splice(0)) this.#items.push(q);
  }

  /** The main queue's stanzas, oldest first, removed from it. */
  take(): Element[] {
    const taken = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return this.#uncount(taken);
  }

  /** A joining domain's queued stanzas, removed from the count. */
  takeFrom(list: Queued[]): Element[] {
    return this.#uncount(list.splice(0));
  }

  #uncount(taken: Queued[]): Element[] {
    for (const q of taken) this.#count(-q.data.length);
    return taken.map((q) => q.stanza);
  }

  #count(bytes: number): void {
    this.#bytes += bytes;
    this.total.bytes += bytes;
  }

  /**
   * Write the queue out, one stanza at a time as the connection can take
   * it (`writable`): written in one go, a queue bigger than
   * s2s.maxOutputBytes would pass the output mark by itself and close the
   * stream even though the peer reads. `current`: false once the stream
   * closed or changed connection (what is left is bounced by the stream).
   */
  async pump(
    writable: () => Promise<void>,
    current: () => boolean,
    write: (q: Queued) => void,
  ): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#head < this.#items.length) {
        await writable();
        if (!current()) return;
        const next = this.#items[this.#head++];
        this.#count(-next.data.length);
        write(next);
      }
      this.#items = [];
      this.#head = 0;
    } finally {
      this.#pumping = false;
    }
  }
}
