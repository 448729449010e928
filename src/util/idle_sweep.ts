/**
 * One timer for many objects that give back memory once idle (a parser's
 * buffers): an object is woken when it sees input, and every `periodMs`
 * each awake one is asked `sweep()`; true means it is compact (or gone)
 * and leaves the set. No timer runs while nothing is awake, and the timer
 * never keeps the process alive.
 */
export interface Sweepable {
  /** True once this object may leave the awake set. */
  sweep(): boolean;
}

export class IdleSweep<T extends Sweepable> {
  #awake = new Set<T>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(readonly periodMs: number) {}

  wake(item: T): void {
    this.#awake.add(item);
    if (this.#timer === undefined) {
      this.#timer = setInterval(this.#sweep, this.periodMs);
      Deno.unrefTimer(this.#timer);
    }
  }

  forget(item: T): void {
    this.#awake.delete(item);
  }

  #sweep = (): void => {
    for (const item of this.#awake) if (item.sweep()) this.#awake.delete(item);
    if (this.#awake.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  };
}
