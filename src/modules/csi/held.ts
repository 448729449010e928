/**
 * One inactive client's held-back stanzas (XEP-0352): the session's output
 * filter while the client is inactive, dropped from the session when it
 * becomes active again, so an active session pays nothing.
 *
 * Held stanzas are in insertion order (a Map keeps it; replacing a key
 * moves the newer stanza to the end). Everything held goes out, in order,
 * before the next important stanza, on `<active/>`, when more than
 * `maxHeld` would be held (sending keeps every stanza; dropping the oldest
 * would lose state the client cannot ask for again), and when the session
 * ends — then into the outbox, where stream management hands messages to
 * offline storage like any unacknowledged stanza.
 */
import { isStanza } from "../../core/outbox.ts";
import type { OutputFilter, Session } from "../../core/session.ts";
import type { Element } from "../../xml/element.ts";
import { holdKey } from "./importance.ts";

/** The key in `session.ext`. */
export const CSI = "csi";

export class HeldOutput implements OutputFilter {
  readonly #held = new Map<string, Element>();
  /** Makes keys for stanzas held without de-duplication. */
  #serial = 0;

  constructor(readonly session: Session, readonly maxHeld: number) {}

  get size(): number {
    return this.#held.size;
  }

  take(x: Element | string): boolean {
    // Nonzas (stream management's <r/>, <a/>) are not stanzas: they pass, held or not.
    if (typeof x === "string" || !isStanza(x)) return false;
    const key = holdKey(x);
    if (key === undefined) {
      // Important: what was held goes first, then this (the caller sends it).
      this.flush();
      return false;
    }
    if (key === "") this.#held.set("#" + this.#serial++, x);
    else {
      this.#held.delete(key);
      this.#held.set(key, x);
    }
    if (this.#held.size > this.maxHeld) this.flush();
    return true;
  }

  /** Everything held to the outbox, oldest first. */
  flush(): void {
    if (this.#held.size === 0) return;
    const held = [...this.#held.values()];
    this.#held.clear();
    this.#serial = 0;
    for (const stanza of held) this.session.outbox.send(stanza);
  }
}

export function heldOutput(session: Session): HeldOutput | undefined {
  return session.ext.get(CSI) as HeldOutput | undefined;
}
