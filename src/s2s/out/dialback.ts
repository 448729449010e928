/**
 * Dialback on an outgoing stream beyond its own authentication:
 * `VerifyRequests` carries `<db:verify/>` requests for keys the remote
 * domain sent us (receiving-server role, XEP-0220 §2.2), and
 * `JoinedDomains` tracks other hosted domains that joined the stream with
 * their own `<db:result/>` (piggybacking, XEP-0220 §2.4) and their
 * stanzas while they wait for the peer's answer.
 */
import type { DialbackVerdict } from "../common.ts";
import { el, type Element, serialize } from "../../xml/element.ts";
import type { Queued } from "./queue.ts";

/**
 * Pending db:verify requests, by stream id. Requests wait until the stream
 * meets the security policy (`allow`); each is answered "error" when the
 * peer does not answer in time or the stream ends.
 */
export class VerifyRequests {
  #waiting = new Map<string, (v: DialbackVerdict) => void>();
  #held: Element[] = [];
  #allowed = false;

  /** Requests still unanswered: the stream is not idle while there are some. */
  get size(): number {
    return this.#waiting.size;
  }

  /**
   * Send (or hold) a db:verify for `key`; resolves with the peer's verdict,
   * or "error" after `seconds` so the peer waiting on the receiving side
   * is answered rather than left hanging. `onTimeout`: for the log.
   */
  request(
    req: { streamId: string; key: string; from: string; to: string },
    seconds: number,
    write: (data: string) => void,
    onTimeout: () => void,
  ): Promise<DialbackVerdict> {
    return new Promise((resolve) => {
      const id = req.streamId;
      const timer = setTimeout(() => {
        onTimeout();
        // No longer pending: the stream may go idle again.
        if (this.#waiting.get(id) === waiter) this.#waiting.delete(id);
        done("error");
      }, seconds * 1000);
      let settled = false;
      const done = (v: DialbackVerdict) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(v);
      };
      const previous = this.#waiting.get(id);
      const waiter = (v: DialbackVerdict) => {
        previous?.(v);
        done(v);
      };
      this.#waiting.set(id, waiter);
      const request = el("db:verify", { from: req.from, to: req.to, id }, req.key);
      if (this.#allowed) write(serialize(request));
      else this.#held.push(request);
    });
  }

  /** The stream meets the policy: held requests go out, later ones at once. */
  allow(write: (data: string) => void): void {
    if (this.#allowed) return;
    this.#allowed = true;
    for (const request of this.#held.splice(0)) write(serialize(request));
  }

  /** The peer's `<db:verify type=…/>` answer. */
  answer(id: string, verdict: DialbackVerdict): void {
    // Nothing was sent yet (held until STARTTLS and the policy checks): an "answer" now is
    // a guess by whoever is on the path, and taken it would prove a domain for them.
    if (!this.#allowed) return;
    const waiter = this.#waiting.get(id);
    this.#waiting.delete(id);
    waiter?.(verdict);
  }

  /** The stream ended: every pending request fails. */
  failAll(): void {
    for (const waiter of this.#waiting.values()) waiter("error");
    this.#waiting.clear();
  }
}

/** Another hosted domain on this stream: verified, or still waiting (with its stanzas). */
export interface Piggyback {
  valid: boolean;
  queue: Queued[];
  /** While waiting: gives up after s2s.connectTimeoutSeconds without an answer. */
  timer?: ReturnType<typeof setTimeout>;
}

/** Hosted domains besides the stream's own that asked to send on it. */
export class JoinedDomains {
  #joined = new Map<string, Piggyback>();

  get domains(): string[] {
    return [...this.#joined.keys()];
  }

  has(local: string): boolean {
    return this.#joined.has(local);
  }

  get(local: string): Piggyback | undefined {
    return this.#joined.get(local);
  }

  /**
   * `local` asks to join; `onSilence` runs if the peer has not answered
   * within `seconds`. The stream's own traffic keeps it open: without a
   * deadline of its own, a db:result the peer never answers would hold
   * this domain's stanzas forever.
   */
  add(local: string, seconds: number, onSilence: (p: Piggyback) => void): Piggyback {
    const joining: Piggyback = { valid: false, queue: [] };
    joining.timer = setTimeout(() => {
      if (this.#joined.get(local) !== joining || joining.valid) return;
      this.#joined.delete(local);
      onSilence(joining);
    }, seconds * 1000);
    this.#joined.set(local, joining);
    return joining;
  }

  /** The peer answered for `local` (valid: it is kept; else it is dropped). */
  settle(local: string, p: Piggyback, valid: boolean): void {
    clearTimeout(p.timer);
    if (valid) p.valid = true;
    else this.#joined.delete(local);
  }

  /** The stream ended: every domain still waiting is handed to `orphan`, and all are forgotten. */
  end(orphan: (local: string, p: Piggyback) => void): void {
    for (const [local, p] of this.#joined) {
      clearTimeout(p.timer);
      if (!p.valid) orphan(local, p);
    }
    this.#joined.clear();
  }
}
