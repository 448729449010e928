/**
 * What a BOSH session has to send, waiting for the client's next request
 * to carry it: bounded by characters (c2s.maxOutputBytes, as a TCP
 * client's unread output) and by element count. Past either bound the
 * owner hears `onOverflow` once: the client is not collecting its output.
 */
export class OutputQueue {
  #items: string[] = [];
  #chars = 0;
  #written = 0;
  #overflowed = false;
  #waiters: (() => void)[] = [];

  constructor(
    readonly maxChars: number,
    readonly maxItems: number,
    readonly onOverflow: () => void,
  ) {}

  /** Characters queued since the session began. */
  get written(): number {
    return this.#written;
  }

  /** Characters waiting for a request. */
  get pending(): number {
    return this.#chars;
  }

  /**
   * The bound was passed: what is queued is no longer this session's to
   * send (the owner handed its messages to offline storage).
   */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  get empty(): boolean {
    return this.#items.length === 0;
  }

  push(data: string): void {
    // Past the bound nothing queued will be sent: keeping more only grows it.
    if (this.#overflowed) return;
    this.#items.push(data);
    this.#chars += data.length;
    this.#written += data.length;
    const over = (this.maxChars > 0 && this.#chars > this.maxChars) ||
      this.#items.length > this.maxItems;
    if (over) {
      this.#overflowed = true;
      this.onOverflow();
    }
  }

  /** Everything queued, now leaving in one response. */
  take(): string[] {
    const items = this.#items;
    this.#items = [];
    this.#chars = 0;
    this.#wake();
    return items;
  }

  /** Resolves once the queue is down to a quarter of its bound (or `release`). */
  writable(): Promise<void> {
    if (this.#chars <= this.maxChars / 4) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The session ended: nobody waits for room any more. */
  release(): void {
    this.#items = [];
    this.#chars = 0;
    this.#wake();
  }

  #wake(): void {
    if (this.#chars > this.maxChars / 4) return;
    const w = this.#waiters;
    this.#waiters = [];
    for (const fn of w) fn();
  }
}
