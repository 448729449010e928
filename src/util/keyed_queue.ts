/**
 * Serial queues per key (a username, usually): a job for a key starts
 * only after every earlier job for that key has settled, succeeded or
 * not. Used where a read-modify-write of one user's stored data must not
 * interleave with another. A key with nothing pending holds no memory.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<void>>();

  /** Queue `job` behind the key's pending jobs; its result (or failure) is returned. */
  run<T>(key: string, job: () => T | Promise<T>): Promise<T> {
    const next = (this.#tails.get(key) ?? Promise.resolve()).then(job);
    const tail = next.then(() => {}, () => {});
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return next;
  }

  /** Settles when the key's pending jobs have; undefined when none are pending. */
  pending(key: string): Promise<void> | undefined {
    return this.#tails.get(key);
  }
}
