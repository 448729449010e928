/**
 * A session's outbox: everything sent to the session passes here on its
 * way to whichever transport is attached, so the session can outlive a
 * transport (stream management, WebSocket reconnects, BOSH requests).
 *
 * - Once acks are enabled it keeps each stanza until the client
 *   acknowledges it (XEP-0198's count on our side is derived from what it
 *   dropped and what it keeps, modulo 2^32); while no transport is
 *   attached (hibernation) stanzas are only kept. Its AckWatcher hears of
 *   each one kept, and bounds them (stream management ends the session).
 * - Without acks it remembers messages whose bytes may not have left
 *   (UnsentTracker): when the client stops reading and the transport's
 *   output mark is passed, those are what `takeUndelivered` gives back.
 */
import { UnsentTracker } from "../net/unsent_tracker.ts";
import { type Element, serialize } from "../xml/element.ts";
import type { StreamTransport } from "../stream/transport.ts";
import { countStanzaOut } from "../metrics/counters.ts";

/** XEP-0198 §4: counters wrap at 2^32. */
const WRAP = 2 ** 32;

/** A top-level element that counts as a stanza (RFC 6120 §8), not a nonza. */
export function isStanza(e: Element): boolean {
  const name = e.name;
  return (name === "message" || name === "presence" || name === "iq") &&
    (e.attrs.xmlns === undefined || e.attrs.xmlns === "jabber:client");
}

export type AckResult = "ok" | "too-high";

/**
 * Told about every stanza the outbox keeps for acks (stream management
 * requests an ack by count from here). One object per session that
 * enabled acks, its methods on the prototype: no closure per session.
 */
export interface AckWatcher {
  /** A stanza was kept; `unacked` are kept now. Called from inside `send`. */
  kept(unacked: number): void;
}

export interface OutboxOptions {
  /**
   * Where the acknowledged count starts (XEP-0198: 0). Unit tests start
   * it just below 2^32 to exercise the wrap without sending 2^32 stanzas.
   */
  ackBase?: number;
}

export class Outbox {
  #transport: StreamTransport | undefined;
  /** Also says whether output stopped (`stopSending`): a fresh one on every attach. */
  #unsent: UnsentTracker<Element> | undefined;
  /** Kept for acks: the stanzas after the last acked one, oldest first. */
  #unacked: Element[] | undefined;
  /** Stanzas dropped by `ack` so far, modulo 2^32: the client's last `h`. */
  #acked = 0;
  #watcher: AckWatcher | undefined;

  constructor(options: OutboxOptions = {}) {
    this.#acked = (options.ackBase ?? 0) % WRAP;
  }

  get transport(): StreamTransport | undefined {
    return this.#transport;
  }

  get acking(): boolean {
    return this.#unacked !== undefined;
  }

  get unackedCount(): number {
    return this.#unacked?.length ?? 0;
  }

  /** Output goes to `transport` from now on. */
  attach(transport: StreamTransport): void {
    this.#transport = transport;
    this.#unsent = new UnsentTracker(transport);
  }

  /** No transport: stanzas are only kept (acks enabled) or dropped. */
  detach(): void {
    // The tracker stays: what it kept at an overflow is still to be taken.
    this.#transport = undefined;
  }

  /**
   * Keep every stanza from now on until acknowledged (XEP-0198 enable);
   * `watcher` hears of each one kept.
   */
  enableAcks(watcher?: AckWatcher): void {
    this.#unacked ??= [];
    if (watcher) this.#watcher = watcher;
  }

  /** The stanzas kept for acks now, oldest first (a view: do not change it). */
  get unacked(): readonly Element[] {
    return this.#unacked ?? [];
  }

  /** Stanzas kept since acks were enabled (acked or not), modulo 2^32: XEP-0198's send-count. */
  get keptCount(): number {
    return (this.#acked + this.unackedCount) % WRAP;
  }

  send(x: Element | string): void {
    if (typeof x === "string") {
      if (this.#transport && !this.#unsent!.stopped) this.#transport.send(x);
      return;
    }
    const stanza = isStanza(x);
    const kept = stanza && this.#unacked !== undefined;
    if (kept) this.#unacked!.push(x);
    this.#write(x, stanza);
    // After the write: whatever the watcher sends (an ack request) follows the stanza.
    if (kept) this.#watcher?.kept(this.#unacked!.length);
  }

  #write(x: Element, stanza: boolean): void {
    if (!this.#transport) return;
    const unsent = this.#unsent!;
    // Without acks, messages are what an overflow must not lose (to offline storage).
    const track = stanza && x.name === "message" && !this.#unacked;
    if (unsent.stopped) {
      if (track) unsent.keep(x);
      return;
    }
    const data = serialize(x);
    if (track) unsent.record(x, data.length);
    this.#transport.send(data);
    if (stanza) countStanzaOut(x.name);
  }

  /**
   * The client acknowledged `h` stanzas (modulo 2^32): those are dropped.
   * "too-high" when `h` counts more than was sent (XEP-0198 §4:
   * handled-count-too-high); nothing changes then.
   */
  ack(h: number): AckResult {
    if (!this.#unacked) return "ok";
    const count = ((h - this.#acked) % WRAP + WRAP) % WRAP;
    if (count > this.#unacked.length) return "too-high";
    if (count > 0) {
      this.#unacked.splice(0, count);
      this.#acked = h % WRAP;
    }
    return "ok";
  }

  /** Write every kept stanza again, oldest first (after a resume), without counting them. */
  resend(): void {
    if (!this.#transport || !this.#unacked) return;
    for (const stanza of this.#unacked) this.#transport.send(serialize(stanza));
  }

  /** The kept stanzas, oldest first; the outbox forgets them. */
  takeUnacked(): Element[] {
    const out = this.#unacked ?? [];
    if (this.#unacked) this.#unacked = [];
    return out;
  }

  /**
   * The transport's output overflowed (the client is not reading): nothing
   * more is written; without acks, messages not handed to the kernel yet
   * and those sent from now on are kept for `takeUndelivered`.
   */
  stopSending(): void {
    this.#unsent?.stop();
  }

  /**
   * What `stopSending` kept, once. With acks that is nothing: the unacked
   * stanzas are stream management's to hand on (`takeUnacked`).
   */
  takeUndelivered(): Element[] {
    return this.#unsent?.take() ?? [];
  }
}
