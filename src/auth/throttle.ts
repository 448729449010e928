/**
 * Counts failed logins per key (client IP, or account) in a fixed window
 * that starts at the key's first failure. Memory is bounded: expired
 * entries are swept as new ones arrive and, past `maxKeys`, the oldest
 * window is dropped, so a flood of distinct keys cannot grow the map.
 */
interface Entry {
  failures: number;
  /** ms; the window's start. */
  since: number;
}

export class FailureThrottle {
  // Insertion order is window-start order (an entry is re-inserted when its
  // window restarts), so expired and oldest entries are always at the front.
  #entries = new Map<string, Entry>();
  readonly #windowMs: number;

  constructor(
    readonly maxFailures: number,
    windowSeconds: number,
    private readonly now: () => number = Date.now,
    readonly maxKeys: number = 100_000,
  ) {
    this.#windowMs = windowSeconds * 1000;
  }

  /** Keys currently tracked (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry && this.now() - entry.since >= this.#windowMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** True once the key has `maxFailures` failures in its current window. */
  isBlocked(key: string): boolean {
    return (this.#live(key)?.failures ?? 0) >= this.maxFailures;
  }

  fail(key: string): void {
    const entry = this.#live(key);
    if (entry) {
      entry.failures++;
      return;
    }
    this.#sweep();
    this.#entries.set(key, { failures: 1, since: this.now() });
  }

  /** Take back one counted event (one counted before an outcome that did not count). */
  undo(key: string): void {
    const entry = this.#live(key);
    if (entry && --entry.failures <= 0) this.#entries.delete(key);
  }

  /** A successful login clears the key's record. */
  succeed(key: string): void {
    this.#entries.delete(key);
  }

  #sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.#entries) {
      const expired = now - entry.since >= this.#windowMs;
      if (!expired && this.#entries.size < this.maxKeys) break;
      this.#entries.delete(key);
    }
  }
}
