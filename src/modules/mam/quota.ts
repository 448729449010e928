/**
 * At most `mam.maxMessagesPerUser` archived messages per user: past it a
 * message is still delivered, only not archived (nor stamped). Without a
 * cap a peer writing to one user at the s2s read rate could fill the disk
 * within the retention period.
 *
 * Counting the archive for each message would cost a scan per message, so
 * each user's count is read once (when first needed) and then kept in
 * memory, raised per message. Retention and deletions lower the real
 * count behind our back: a user who reaches the cap is counted again
 * (at most once per RECOUNT_MS) before being refused.
 */
import type { ArchiveStore } from "../../storage/types.ts";

/** Users whose counts stay in memory (the least recently used leave first). */
const CACHE_MAX = 10_000;
const RECOUNT_MS = 10 * 60 * 1000;

interface Tally {
  count: number;
  /** When the count was last read from storage. */
  readAt: number;
}

export class ArchiveQuota {
  readonly #tallies = new Map<string, Tally>();
  readonly #reading = new Map<string, Promise<Tally>>();

  constructor(
    readonly store: ArchiveStore,
    /** 0: no cap. */
    readonly max: number,
    readonly now: () => number = Date.now,
  ) {}

  /** Whether one more message of `user` may be archived; if so it is counted. */
  admit(user: string): boolean | Promise<boolean> {
    if (this.max === 0) return true;
    const t = this.#tallies.get(user);
    if (t === undefined) return this.#read(user).then((t) => this.#take(user, t, false));
    return this.#take(user, t, false);
  }

  /** The account is gone. */
  forget(user: string): void {
    this.#tallies.delete(user);
    this.#reading.delete(user);
  }

  #take(user: string, t: Tally, fresh: boolean): boolean | Promise<boolean> {
    if (t.count < this.max) {
      t.count++;
      // Most recently used last.
      this.#tallies.delete(user);
      this.#tallies.set(user, t);
      return true;
    }
    if (fresh || this.now() - t.readAt < RECOUNT_MS) return false;
    return this.#read(user).then((t) => this.#take(user, t, true));
  }

  #read(user: string): Promise<Tally> {
    let reading = this.#reading.get(user);
    if (!reading) {
      reading = this.store.count(user).then((count) => {
        const t = { count, readAt: this.now() };
        if (this.#reading.get(user) === reading) {
          this.#tallies.delete(user);
          this.#tallies.set(user, t);
          if (this.#tallies.size > CACHE_MAX) {
            this.#tallies.delete(this.#tallies.keys().next().value!);
          }
        }
        return t;
      }).finally(() => {
        if (this.#reading.get(user) === reading) this.#reading.delete(user);
      });
      this.#reading.set(user, reading);
    }
    return reading;
  }
}
