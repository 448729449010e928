/**
 * Event-loop delay, sampled: a timer due every SAMPLE_MS notes how late
 * it fired. Lateness is time the loop spent on something else (a long
 * synchronous task, GC), which every stanza waiting behind it also paid.
 * The timer is unref'd: it never keeps the process alive.
 */
import { DELAY_BUCKETS, Histogram } from "./histogram.ts";

const SAMPLE_MS = 500;

export class EventLoopDelay {
  readonly histogram = new Histogram(DELAY_BUCKETS);
  /** The last sample, seconds. */
  last = 0;
  /** The largest sample so far, seconds. */
  max = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #due = 0;

  start(): void {
    if (this.#timer !== undefined) return;
    this.#arm();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    this.#due = performance.now() + SAMPLE_MS;
    const timer = setTimeout(() => {
      const late = Math.max(0, performance.now() - this.#due) / 1000;
      this.last = late;
      if (late > this.max) this.max = late;
      this.histogram.observe(late);
      this.#arm();
    }, SAMPLE_MS);
    this.#timer = timer;
    Deno.unrefTimer(timer);
  }
}
