/**
 * Times fan-outs: message k is sent once and must reach `expected`
 * receivers; its fan-out time is from the send to the last arrival.
 * Spaced mode sends one at a time with a gap (no overlap); closed loop
 * keeps `window` fan-outs in flight for a fixed duration.
 */
import { cpuMeter, percentile } from "./stats.ts";

export interface FanoutResult {
  count: number;
  p50: number;
  p99: number;
  min: number;
  max: number;
  /** Deliveries per second over the measured span. */
  deliveriesPerSec: number;
  /** Fan-outs that timed out (not every receiver had it). */
  incomplete: number;
}

/** What a run measures with: the pace of both modes and whose CPU to count. */
export interface MeasureOptions {
  gapMs: number;
  window: number;
  seconds: number;
  serverPid?: number;
}

export class Tracker {
  #hits = new Map<number, number>();
  #done = new Map<number, () => void>();
  delivered = 0;
  /** For each fan-out that timed out: how many receivers had it. */
  readonly shortfalls: number[] = [];

  constructor(readonly expected: number, readonly timeoutMs = 30_000) {}

  /** A receiver has message `k`. */
  hit(k: number): void {
    this.delivered++;
    const n = (this.#hits.get(k) ?? 0) + 1;
    this.#hits.set(k, n);
    if (n === this.expected) this.#done.get(k)?.();
  }

  /** Send k and resolve with its fan-out time in ms (NaN on timeout). */
  one(k: number, send: (k: number) => void): Promise<number> {
    return new Promise((resolve) => {
      const t0 = performance.now();
      const timer = setTimeout(() => {
        if (this.shortfalls.length < 10) this.shortfalls.push(this.#hits.get(k) ?? 0);
        this.#done.delete(k);
        resolve(NaN);
      }, this.timeoutMs);
      this.#done.set(k, () => {
        clearTimeout(timer);
        this.#done.delete(k);
        this.#hits.delete(k);
        resolve(performance.now() - t0);
      });
      send(k);
    });
  }

  async spaced(first: number, count: number, gapMs: number, send: (k: number) => void) {
    const times: number[] = [];
    const d0 = this.delivered;
    let busy = 0;
    for (let k = first; k < first + count; k++) {
      const ms = await this.one(k, send);
      times.push(ms);
      if (!Number.isNaN(ms)) busy += ms;
      await new Promise((r) => setTimeout(r, gapMs));
    }
    // Spaced: deliveries per second of fan-out time (the gaps left out).
    return summarize(times, (this.delivered - d0) / (busy / 1000));
  }

  async closedLoop(first: number, window: number, seconds: number, send: (k: number) => void) {
    const times: number[] = [];
    const end = performance.now() + seconds * 1000;
    const d0 = this.delivered;
    const t0 = performance.now();
    let k = first;
    const lane = async () => {
      while (performance.now() < end) times.push(await this.one(k++, send));
    };
    await Promise.all(Array.from({ length: window }, lane));
    const secs = (performance.now() - t0) / 1000;
    return { ...summarize(times, (this.delivered - d0) / secs), next: k };
  }

  /**
   * The run both fan-out scenarios make: a warm-up of 3 (unmeasured: the
   * first sends pay for caches and caps queries), `count` spaced sends,
   * then the closed loop; each mode with the CPU it cost.
   */
  async measure(count: number, o: MeasureOptions, send: (k: number) => void) {
    await this.spaced(0, 3, o.gapMs, send);
    let meter = cpuMeter(o.serverPid);
    const spaced = { ...(await this.spaced(100, count, o.gapMs, send)), ...meter() };
    meter = cpuMeter(o.serverPid);
    const closed = {
      ...(await this.closedLoop(100_000, o.window, o.seconds, send)),
      ...meter(),
    };
    return { spaced, closed };
  }
}

function summarize(times: number[], deliveriesPerSec: number): FanoutResult {
  const ok = times.filter((t) => !Number.isNaN(t)).sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    count: ok.length,
    p50: r(percentile(ok, 50)),
    p99: r(percentile(ok, 99)),
    min: r(ok[0]),
    max: r(ok[ok.length - 1]),
    deliveriesPerSec: Math.round(deliveriesPerSec),
    incomplete: times.length - ok.length,
  };
}
