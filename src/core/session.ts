/**
 * A client session, shaped as session-model.md states it. Everything that
 * negotiates the stream lives in the stream handler; this object is the
 * part the rest of the server sees, so it stays small (one per
 * connection, thousands at once).
 */
import type { Connection } from "../net/connection.ts";
import { UnsentTracker } from "../net/unsent_tracker.ts";
import { type Element, serialize } from "../xml/element.ts";
import type { StreamError } from "./errors.ts";

export type SessionType = "c2s_unauthed" | "c2s";

/**
 * Fired on the host (`undelivered`) when a session ended with messages
 * written to it that never reached its client (its output overflowed);
 * core delivery hands them to offline storage, oldest first.
 */
export interface UndeliveredEvent {
  session: Session;
  stanzas: Element[];
}

export class Session {
  /** True until the peer's stream header arrives; set again on every restart. */
  notopen = true;
  type: SessionType = "c2s_unauthed";
  username: string | undefined;
  host: string | undefined;
  resource: string | undefined;
  fullJid: string | undefined;
  priority = 0;
  /** The last undirected available presence; undefined when unavailable. */
  presence: Element | undefined;
  /** Set once the resource fetched its roster: it then receives roster pushes. */
  interested = false;
  /** The user's roster, shared by the user's sessions (loaded at binding). */
  roster: unknown;
  /** The stream's xml:lang, applied to stanzas that carry none. */
  lang: string | undefined;
  /** True once destroySession ran. */
  destroyed = false;
  /** When the peer last sent anything (ms since the epoch), for idle pings. */
  lastActivity = Date.now();
  /**
   * Messages whose bytes may not have reached the kernel yet: what an
   * output overflow would lose, kept then for offline storage.
   */
  #unsent: UnsentTracker<Element>;

  constructor(
    readonly conn: Connection,
    readonly id: string,
    readonly closeStream: (error?: StreamError) => void,
  ) {
    this.#unsent = new UnsentTracker(conn);
  }

  get bareJid(): string | undefined {
    return this.username === undefined ? undefined : this.username + "@" + this.host;
  }

  send(x: Element | string): void {
    const message = typeof x !== "string" && x.name === "message";
    if (this.#unsent.stopped) {
      if (message) this.#unsent.keep(x);
      return;
    }
    const data = typeof x === "string" ? x : serialize(x);
    if (message) this.#unsent.record(x, data.length);
    this.conn.write(data);
  }

  /**
   * Resolves when the client has taken most of what was sent (or the
   * session ended): a module sending a burst (offline messages, history)
   * waits on it between stanzas, so a client that reads at its own pace is
   * not mistaken for one that stopped reading.
   */
  writable(): Promise<void> {
    return this.conn.writable();
  }

  /**
   * The output overflowed (the client is not reading): nothing more is
   * written; the messages not yet handed to the kernel, and those sent
   * from now on, are kept for `takeUndelivered`.
   */
  stopSending(): void {
    this.#unsent.stop();
  }

  /** The messages kept by `stopSending`, once; later ones are dropped. */
  takeUndelivered(): Element[] {
    return this.#unsent.take();
  }

  /**
   * End the stream (with a stream error if given). Normally call
   * `SessionRegistry.destroySession`, which also cleans up the registry
   * and presence.
   */
  close(error?: StreamError): void {
    this.closeStream(error);
  }
}
