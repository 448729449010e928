/**
 * What every transport gives the deep check's client: send XML, wait for
 * the next top-level element matching a predicate (bounded inbox, every
 * wait with a deadline), restart the stream after SASL, close.
 */
import type { Element } from "../../xml/element.ts";

/** Elements kept unclaimed; past this the oldest are dropped (a chatty server cannot grow us). */
const MAX_INBOX = 500;
export const STEP_MS = 5000;

export interface Link {
  /** "c2s STARTTLS", "direct TLS", "WebSocket ws://…", "BOSH https://…". */
  readonly name: string;
  /** Opens the stream; resolves to the stream features. */
  open(): Promise<Element>;
  send(xml: string): Promise<void>;
  /** After SASL success: a new stream; resolves to the new features. */
  restart(): Promise<Element>;
  next(pred: (e: Element) => boolean, ms?: number): Promise<Element>;
  close(): Promise<void>;
}

/** The waiting half every link shares. */
export class Inbox {
  readonly #items: Element[] = [];
  #waiters: (() => void)[] = [];
  closed = false;
  error: string | undefined;

  push(e: Element): void {
    this.#items.push(e);
    if (this.#items.length > MAX_INBOX) this.#items.shift();
    this.#wake();
  }

  end(reason?: string): void {
    this.closed = true;
    this.error ??= reason;
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const fn of w) fn();
  }

  async next(pred: (e: Element) => boolean, ms = STEP_MS): Promise<Element> {
    const deadline = Date.now() + ms;
    // Bounded: each pass either returns, throws, or waits for a push/end/timeout.
    for (let pass = 0; pass < 100_000; pass++) {
      const i = this.#items.findIndex(pred);
      if (i >= 0) return this.#items.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no answer within ${ms} ms`);
      if (this.closed) throw new Error(`connection closed${this.error ? `: ${this.error}` : ""}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    throw new Error("too many elements while waiting");
  }
}

/** Rejects after `ms` with a message naming the step. */
export async function withTimeout<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
