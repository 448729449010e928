/**
 * A bound on the stanzas one stream has in the works at once. The router
 * hands a stanza to handlers and returns at once; a handler that waits
 * for storage or a per-user queue (roster, offline, private, blocking…)
 * keeps a promise, and the stanza with it, until its turn comes. Without
 * a bound a peer that writes faster than those queues drain lines up work
 * without end: the queued jobs hold memory, and since a queue's jobs
 * continue one another as microtasks, one long chain ran with no I/O in
 * between (a roster-set flood held the event loop for 1.7 s).
 *
 * Past the limit the stream's input waits (FrameInput treats the promise
 * returned here as a busy handler: frames queue, then reading pauses),
 * so the peer is slowed to the pace its work is done at, as TCP would.
 */
export const MAX_STANZAS_IN_FLIGHT = 16;

export class InFlight {
  #count = 0;
  #waiter: PromiseWithResolvers<void> | undefined;

  constructor(readonly limit = MAX_STANZAS_IN_FLIGHT) {}

  get count(): number {
    return this.#count;
  }

  /**
   * Count `work` (a stanza's handling, which never rejects) until it
   * settles. Returns a promise to wait on when the limit is reached:
   * the next stanza must not start before it resolves.
   */
  track(work: void | Promise<void>): void | Promise<void> {
    if (work === undefined) return;
    this.#count++;
    // Settled either way, and never an unhandled rejection should work reject.
    work.then(this.#settled, this.#settled);
    if (this.#count < this.limit) return;
    this.#waiter ??= Promise.withResolvers<void>();
    return this.#waiter.promise;
  }

  #settled = (): void => {
    this.#count--;
    if (this.#waiter !== undefined && this.#count < this.limit) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter.resolve();
    }
  };
}
