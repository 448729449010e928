/**
 * A client session, shaped as session-model.md states it. Everything that
 * negotiates the stream lives in the stream handler; this object is the
 * part the rest of the server sees, so it stays small (one per
 * connection, thousands at once).
 */
import type { Connection } from "../net/connection.ts";
import { type Element, serialize } from "../xml/element.ts";
import type { StreamError } from "./errors.ts";

export type SessionType = "c2s_unauthed" | "c2s";

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

  constructor(
    readonly conn: Connection,
    readonly id: string,
    readonly closeStream: (error?: StreamError) => void,
  ) {}

  get bareJid(): string | undefined {
    return this.username === undefined ? undefined : this.username + "@" + this.host;
  }

  send(x: Element | string): void {
    this.conn.write(typeof x === "string" ? x : serialize(x));
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
