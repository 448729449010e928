/**
 * The requests a BOSH session holds open (at most `hold`), in rid order,
 * each with its `wait` timer; and the recent answers kept for
 * retransmission (XEP-0124 §14.3).
 */

/** Resolves one HTTP request with the body to answer it with. */
export type Respond = (xml: string) => void;

export interface Held {
  rid: number;
  /** More than one when the client retried the same rid. */
  respond: Respond[];
  timer: ReturnType<typeof setTimeout>;
  /** The session creation request: its answer carries the session's attributes. */
  creation: boolean;
}

export class HeldRequests {
  #list: Held[] = [];

  constructor(readonly waitMs: number, readonly onExpire: (held: Held) => void) {}

  get size(): number {
    return this.#list.length;
  }

  add(rid: number, respond: Respond[], creation: boolean): void {
    const held: Held = {
      rid,
      respond,
      creation,
      timer: setTimeout(() => {
        if (this.#remove(held)) this.onExpire(held);
      }, this.waitMs),
    };
    // In rid order: an empty poll may be held while an older request is processed.
    const list = this.#list;
    let i = list.length;
    while (i > 0 && list[i - 1].rid > rid) i--;
    list.splice(i, 0, held);
  }

  /** The oldest, no longer held. */
  shift(): Held | undefined {
    const held = this.#list.shift();
    if (held) clearTimeout(held.timer);
    return held;
  }

  find(rid: number): Held | undefined {
    return this.#list.find((h) => h.rid === rid);
  }

  /** All of them, no longer held. */
  drain(): Held[] {
    const all = this.#list;
    this.#list = [];
    for (const h of all) clearTimeout(h.timer);
    return all;
  }

  #remove(held: Held): boolean {
    const i = this.#list.indexOf(held);
    if (i < 0) return false;
    this.#list.splice(i, 1);
    return true;
  }
}

/** The last `max` answers by rid: only those can be asked for again. */
export class AnswerCache {
  #answers = new Map<number, string>();

  constructor(readonly max: number) {}

  get(rid: number): string | undefined {
    return this.#answers.get(rid);
  }

  set(rid: number, xml: string): void {
    this.#answers.set(rid, xml);
    for (const old of this.#answers.keys()) {
      if (this.#answers.size <= this.max) break;
      this.#answers.delete(old);
    }
  }
}
