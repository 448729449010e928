/**
 * A session's outbox: everything sent to the session passes here on its
 * way to whichever transport is attached, so the session can outlive a
 * transport (stream management, WebSocket reconnects, BOSH requests).
 *
 * - It counts the stanzas handed out (XEP-0198's `h` on our side, modulo
 *   2^32) and, once acks are enabled, keeps each one until the client
 *   acknowledges it; while no transport is attached (hibernation) stanzas
 *   are only kept.
 * - It bounds what it keeps (`maxUnacked`): past it the owner is told
 *   (`onFull`) and ends the session, whose kept stanzas then go to
 *   offline storage.
 * - Without acks it remembers messages whose bytes may not have left
 *   (UnsentTracker): when the client stops reading and the transport's
 *   output mark is passed, those are what `takeUndelivered` gives back.
 */
import { UnsentTracker } from "../net/unsent_tracker.ts";
import { type Element, serialize } from "../xml/element.ts";
import type { StreamTransport } from "../stream/transport.ts";

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
  /** Stanzas kept for acks (or while detached) past which `onFull` fires. */
  maxUnacked: number;
  /** The bound was passed; called once, from inside `send`. */
  onFull?(): void;
  /**
   * Where the acknowledged count starts (XEP-0198: 0). Unit tests start
   * it just below 2^32 to exercise the wrap without sending 2^32 stanzas.
   */
  ackBase?: number;
}

export class Outbox {
  #transport: StreamTransport | undefined;
  #unsent: UnsentTracker<Element> | undefined;
  /** Stanzas handed out so far, modulo 2^32 (our `h` as the client would count it). */
  #sent = 0;
  /** Kept for acks: the stanzas after the last acked one, oldest first. */
  #unacked: Element[] | undefined;
  /** Stanzas dropped by `ack` so far, modulo 2^32: the client's last `h`. */
  #acked = 0;
  #options: OutboxOptions;
  #full = false;
  /** Messages written since the output overflowed (no acks): kept for offline storage. */
  #stopped = false;
  #watcher: AckWatcher | undefined;

  constructor(options: OutboxOptions = { maxUnacked: 500 }) {
    this.#options = options;
    this.#acked = (options.ackBase ?? 0) % WRAP;
  }

  get transport(): StreamTransport | undefined {
    return this.#transport;
  }

  /** Stanzas handed out, modulo 2^32. */
  get sent(): number {
    return this.#sent;
  }

  /** The client's last acknowledged count, modulo 2^32. */
  get acked(): number {
    return this.#acked;
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
    this.#stopped = false;
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
  enableAcks(maxUnacked?: number, watcher?: AckWatcher): void {
    this.#unacked ??= [];
    if (maxUnacked !== undefined) this.#options = { ...this.#options, maxUnacked };
    if (watcher) this.#watcher = watcher;
  }

  /** Stanzas kept since acks were enabled (acked or not), modulo 2^32: XEP-0198's send-count. */
  get keptCount(): number {
    return (this.#acked + this.unackedCount) % WRAP;
  }

  send(x: Element | string): void {
    if (typeof x === "string") {
      if (this.#transport && !this.#stopped) this.#transport.send(x);
      return;
    }
    const stanza = isStanza(x);
    let kept = false;
    if (stanza) {
      this.#sent = (this.#sent + 1) % WRAP;
      if (this.#unacked) {
        this.#unacked.push(x);
        kept = true;
        if (this.#unacked.length > this.#options.maxUnacked && !this.#full) {
          this.#full = true;
          this.#options.onFull?.();
        }
      }
    }
    this.#write(x, stanza);
    // After the write: whatever the watcher sends (an ack request) follows the stanza.
    if (kept) this.#watcher?.kept(this.#unacked!.length);
  }

  #write(x: Element, stanza: boolean): void {
    if (!this.#transport) return;
    if (this.#stopped) {
      if (stanza && x.name === "message" && !this.#unacked) this.#unsent?.keep(x);
      return;
    }
    const data = serialize(x);
    if (stanza && x.name === "message" && !this.#unacked) this.#unsent?.record(x, data.length);
    this.#transport.send(data);
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
    if (this.#unacked.length <= this.#options.maxUnacked) this.#full = false;
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
    this.#stopped = true;
    this.#unsent?.stop();
  }

  /** What `stopSending` kept (or, with acks, the unacked stanzas), once. */
  takeUndelivered(): Element[] {
    if (this.#unacked) return this.takeUnacked();
    return this.#unsent?.take() ?? [];
  }
}
