/**
 * Streams a peer broke (invalid XML, a stream error, a failed TLS
 * handshake), logged at most once per address per minute with a count of
 * the lines left out: each costs the peer only a connection, which it may
 * open and drop at will, and a log line per stream would cost the
 * operator's disk instead.
 */
import type { Logger } from "../log.ts";
import { OncePerWindow } from "../util/once_per_window.ts";

export class BrokenStreamLog {
  #once = new OncePerWindow();

  constructor(readonly log: Logger) {}

  /** Log `what` happened on `who`'s stream, unless `address` was logged within the window. */
  note(address: string, who: string, what: string): void {
    const silent = this.#once.note(address);
    if (silent === undefined) return;
    this.log.info("{who}: {what} ({silent} more from this address since the last such line)", {
      who,
      what,
      silent,
    });
  }
}
