/**
 * Retention (`mam.retentionDays`): archived messages older than that are
 * deleted, for every user of the host at once (ArchiveStore.expire), by a
 * sweep soon after start and then every hour. One timer per host,
 * unref'd (it never keeps the process alive), stopped when the server
 * stops (`server-stopping`). 0 days keeps messages for ever (no timer).
 * Between sweeps a message may outlive its retention by up to an hour.
 */
import type { ArchiveStore } from "../../storage/types.ts";
import type { Logger } from "../../log.ts";

export const SWEEP_PERIOD_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export class RetentionSweeper {
  #timer: ReturnType<typeof setInterval> | undefined;
  #first: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  readonly retentionMs: number;

  constructor(
    readonly store: ArchiveStore,
    retentionDays: number,
    readonly log: Logger,
    readonly periodMs = SWEEP_PERIOD_MS,
  ) {
    this.retentionMs = Math.round(retentionDays * DAY_MS);
  }

  /** Sweep soon (not during start-up's own work) and then every period. */
  start(): void {
    if (this.retentionMs === 0 || this.#stopped) return;
    this.#first = setTimeout(() => this.#sweepLogged(), 0);
    Deno.unrefTimer(this.#first);
    this.#timer = setInterval(() => this.#sweepLogged(), this.periodMs);
    Deno.unrefTimer(this.#timer);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#first);
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Delete what is past retention now; how many were deleted (0 when keeping for ever). */
  async sweep(now = Date.now()): Promise<number> {
    if (this.retentionMs === 0 || this.#stopped) return 0;
    return await this.store.expire(now - this.retentionMs);
  }

  #sweepLogged(): void {
    this.sweep().then(
      (n) => {
        if (n > 0) this.log.info("retention: {n} archived messages expired", { n });
      },
      (err) => this.log.error("retention sweep failed: {err}", { err }),
    );
  }
}
