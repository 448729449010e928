/**
 * A client session, shaped as session-model.md states it. Everything that
 * negotiates the stream lives in the stream handler; this object is the
 * part the rest of the server sees, so it stays small (thousands at once).
 *
 * A session outlives its transport: output goes through its `Outbox` to
 * whichever stream drives it now (`attach`/`detach`). Stream management
 * keeps a session whose connection dropped (hibernation) and attaches it
 * to the stream that resumes it; WebSocket and BOSH sessions attach the
 * same way.
 */
import { Outbox } from "./outbox.ts";
import type { Element } from "../xml/element.ts";
import type { StreamError } from "./errors.ts";
import type { StreamTransport } from "../stream/transport.ts";

export type SessionType = "c2s_unauthed" | "c2s";

/**
 * Fired on the host (`undelivered`) when a session ended with messages
 * sent to it that never reached its client (its output overflowed, or
 * they were never acknowledged); core delivery hands them to offline
 * storage, oldest first.
 */
export interface UndeliveredEvent {
  session: Session;
  stanzas: Element[];
}

/**
 * Sees each element sent to a session before its outbox (client state
 * indication holds back what can wait, XEP-0352). Returning true means it
 * took the element and answers for it from then on: it passes it on later
 * with `session.outbox.send`, in order, or hands it on when the session
 * ends. Nothing it holds is in the outbox yet, so stream management has
 * not counted it.
 */
export interface OutputFilter {
  take(x: Element | string): boolean;
}

/** The stream that currently carries a session. */
export interface SessionDriver {
  readonly transport: StreamTransport;
  /** End the stream (with a stream error if given) and its transport. */
  close(error?: StreamError): void;
  /** From now on this stream's input belongs to `session` (XEP-0198 resumption). */
  adopt(session: Session): void;
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
  /** Set by a module (stream management) while it keeps the session without a stream. */
  hibernating = false;
  /**
   * Stanzas received from the client, modulo 2^32: XEP-0198's `h` on our
   * side. Counted always (a plain number costs nothing); stream
   * management sets it to 0 when the client enables it.
   */
  received = 0;
  /** Per-session state of stream-level extensions (stream management, CSI…). */
  readonly ext = new Map<string, unknown>();
  readonly outbox: Outbox;
  /**
   * Set only while a module filters this session's output (an inactive
   * client, XEP-0352); undefined otherwise, so `send` costs one check.
   */
  filter: OutputFilter | undefined = undefined;
  #driver: SessionDriver | undefined;

  constructor(readonly id: string, driver?: SessionDriver) {
    this.outbox = new Outbox();
    if (driver) this.attach(driver);
  }

  get bareJid(): string | undefined {
    return this.username === undefined ? undefined : this.username + "@" + this.host;
  }

  /** The stream carrying the session now; undefined while hibernating. */
  get driver(): SessionDriver | undefined {
    return this.#driver;
  }

  /** The current transport (address, TLS state); undefined while hibernating. */
  get transport(): StreamTransport | undefined {
    return this.#driver?.transport;
  }

  attach(driver: SessionDriver): void {
    this.#driver = driver;
    this.hibernating = false;
    this.outbox.attach(driver.transport);
  }

  /** The stream is gone but the session stays (hibernation): output is kept, not written. */
  detach(): void {
    this.#driver = undefined;
    this.outbox.detach();
  }

  send(x: Element | string): void {
    if (this.filter !== undefined && this.filter.take(x)) return;
    this.outbox.send(x);
  }

  /** One more stanza from the client (see `received`). */
  countReceived(): void {
    this.received = this.received === 0xffffffff ? 0 : this.received + 1;
  }

  /**
   * Resolves when the client has taken most of what was sent (or the
   * session has no transport): a module sending a burst (offline
   * messages, history) waits on it between stanzas, so a client that
   * reads at its own pace is not mistaken for one that stopped reading.
   */
  writable(): Promise<void> {
    return this.transport?.writable() ?? Promise.resolve();
  }

  /** See Outbox.stopSending. */
  stopSending(): void {
    this.outbox.stopSending();
  }

  /**
   * End the stream (with a stream error if given). Normally call
   * `SessionRegistry.destroySession`, which also cleans up the registry
   * and presence.
   */
  close(error?: StreamError): void {
    this.#driver?.close(error);
  }
}
