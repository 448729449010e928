/**
 * A token bucket on bytes read: a connection may read `burstBytes` at once
 * and `bytesPerSecond` sustained. Over that, `consume` says how long to
 * stop reading before the bucket is back at zero.
 */
export interface ReadRate {
  /** Sustained bytes per second; 0 means unlimited. */
  bytesPerSecond: number;
  burstBytes: number;
}

export class ReadRateBucket {
  #tokens: number;
  #last: number;

  constructor(readonly rate: ReadRate, now = Date.now()) {
    this.#tokens = rate.burstBytes;
    this.#last = now;
  }

  /** Take `bytes`; returns the milliseconds to pause (0: keep reading). */
  consume(bytes: number, now = Date.now()): number {
    const { bytesPerSecond, burstBytes } = this.rate;
    if (bytesPerSecond <= 0) return 0;
    this.#tokens = Math.min(
      burstBytes,
      this.#tokens + ((now - this.#last) * bytesPerSecond) / 1000,
    );
    this.#last = now;
    this.#tokens -= bytes;
    return this.#tokens < 0 ? Math.ceil((-this.#tokens / bytesPerSecond) * 1000) : 0;
  }
}
