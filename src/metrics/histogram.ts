/**
 * A fixed-bucket histogram: `observe` finds the value's bucket and bumps
 * a typed-array slot, so recording allocates nothing. Counts are kept per
 * bucket and made cumulative when rendered.
 */
export class Histogram {
  /** Upper bounds, ascending; +Inf is implied. */
  readonly bounds: readonly number[];
  /** Per bucket (not cumulative); the last slot is the +Inf overflow. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i] > bounds[i - 1])) throw new Error("histogram bounds must ascend");
    }
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

/** Seconds, for storage calls: 0.1 ms to 2.5 s. */
export const LATENCY_BUCKETS = [
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
];

/** Seconds, for event-loop delay: 1 ms to 5 s. */
export const DELAY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
