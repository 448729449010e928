/**
 * Rate-limits log lines a peer can trigger at will (refused connections,
 * throttled logins, failed component handshakes): the first event per key
 * (an address, an account…) in each window is logged, and that line says
 * how many went unlogged since the previous one. A flood then costs a few
 * lines a minute, not one per attempt.
 */

/** Most keys remembered; past it the oldest window's entries are forgotten. */
const MAX_TRACKED = 10_000;

export class OncePerWindow {
  #seen = new Map<string, { since: number; silent: number }>();

  constructor(readonly windowMs = 60_000) {}

  /** The number of events not logged since the last line, or undefined to stay silent. */
  note(key: string, now = Date.now()): number | undefined {
    const entry = this.#seen.get(key);
    if (entry && now - entry.since < this.windowMs) {
      entry.silent++;
      return undefined;
    }
    if (!entry && this.#seen.size >= MAX_TRACKED) this.#forgetOld(now);
    this.#seen.set(key, { since: now, silent: 0 });
    return entry?.silent ?? 0;
  }

  #forgetOld(now: number): void {
    for (const [key, e] of this.#seen) if (now - e.since >= this.windowMs) this.#seen.delete(key);
    // Every entry is recent (a flood from many addresses): start over rather than grow.
    if (this.#seen.size >= MAX_TRACKED) this.#seen.clear();
  }
}
