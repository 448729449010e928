/**
 * The lifecycle every stream shares, written once: c2s, s2s in and out
 * and component streams are thin on top of it, over any transport (TCP
 * XML stream, WebSocket, BOSH).
 *
 * - frame wiring: the transport's frames in order to `onOpen`,
 *   `onElement`, `onPeerError` (the peer's `<stream:error/>`) and
 *   `onPeerClose`; a parse error becomes its stream error;
 * - our header, once per stream and per restart (`restart`, STARTTLS);
 * - stream-error mapping: a StreamError thrown or rejected by a handler
 *   ends the stream with it; anything else goes to `onInternalError`;
 * - the close sequence (RFC 6120 §4.4): our header if none went out yet,
 *   the error, the closing, then the transport closes once flushed (the
 *   transport gives the peer a moment to close its side, then drops it);
 * - the authentication timer and an idle timer (or, for links, an idle
 *   watch over the last activity either way);
 * - server-side STARTTLS where the transport can do it, and client-side
 *   STARTTLS for the streams we initiate (outgoing s2s).
 */
import { type Element, serialize } from "../xml/element.ts";
import type { Frame } from "../xml/parser.ts";
import type { Logger } from "../log.ts";
import { StreamError } from "../core/errors.ts";
import { BrokenStreamLog } from "./broken_streams.ts";
import type { ServerTlsOptions } from "../net/connection.ts";
import type { StreamOpenAttrs, StreamTransport, TransportLimits } from "./transport.ts";

/** How much of a peer's `<stream:error/>` is logged (text and all; the condition comes first). */
const PEER_ERROR_LOG_CHARS = 1024;

export interface StreamCoreOptions {
  log: Logger;
  /** Lines about broken streams, once per address per window (shared per stream kind). */
  broken: BrokenStreamLog;
  limits: TransportLimits;
  /** Close with connection-timeout unless `authenticated` is called within this (0: never). */
  authTimeoutMs: number;
  /** What the auth timer's stream error says. */
  authTimeoutText?: string;
  /**
   * We initiate the stream (outgoing s2s): our header goes out on `start`
   * and again at once after each restart (SASL success, our STARTTLS);
   * otherwise it answers the peer's header.
   */
  initiating?: boolean;
}

export abstract class StreamCore {
  #headerSent = false;
  #closed = false;
  #authTimer: ReturnType<typeof setTimeout> | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** The last input from the peer or `touch` (see `watchIdle`). */
  #lastActivity = Date.now();

  constructor(readonly transport: StreamTransport, readonly options: StreamCoreOptions) {}

  get closed(): boolean {
    return this.#closed;
  }

  get headerSent(): boolean {
    return this.#headerSent;
  }

  /** Start reading; the auth timer runs from here. An initiating stream sends its header. */
  start(): void {
    this.armAuth();
    this.transport.start({
      onFrame: (frame) => this.#onFrame(frame),
      onError: (err, frame) => this.#onError(err, frame),
      onClose: (error) => {
        this.#clearTimers();
        this.onTransportClose(error);
      },
      onOverflow: () => this.onOverflow(),
      onActivity: () => {
        this.#lastActivity = Date.now();
        this.onActivity();
      },
    }, this.options.limits);
    if (this.options.initiating) this.sendHeader();
  }

  /**
   * (Re)start the authentication timer: `start` does; a stream kind may
   * again while the peer still does something useful unauthenticated
   * (an s2s peer using the stream only to check dialback keys).
   */
  armAuth(): void {
    clearTimeout(this.#authTimer);
    this.#authTimer = undefined;
    const { authTimeoutMs } = this.options;
    if (authTimeoutMs <= 0 || this.#closed) return;
    this.#authTimer = setTimeout(() => {
      this.options.log.info("{who}: did not authenticate in time", { who: this.who() });
      this.fail(
        new StreamError("connection-timeout", this.options.authTimeoutText ?? "Too slow"),
      );
    }, authTimeoutMs);
  }

  // ---- what a stream kind supplies -------------------------------------------

  /** The peer's stream header (after a restart too). */
  protected abstract onOpen(
    attrs: Record<string, string>,
    name: string,
    ns: string,
  ): void | Promise<void>;
  /** A top-level element of the peer's stream. */
  protected abstract onElement(element: Element): void | Promise<void>;
  /** The peer closed its stream (RFC 6120 §4.4): answer with ours. */
  protected onPeerClose(): void {
    this.close();
  }
  /**
   * The peer ended its stream with a stream error (RFC 6120 §4.9.1): by
   * default logged, then answered as a close (no error back to an error).
   */
  protected onPeerError(error: Element): void {
    this.options.log.info("{who}: peer sent a stream error: {err}", {
      who: this.who(),
      // The peer chooses its size (up to a stanza's): a bounded excerpt names the condition.
      err: serialize(error).slice(0, PEER_ERROR_LOG_CHARS),
    });
    this.onPeerClose();
  }
  /** The transport is gone; called once, timers already cleared. */
  protected abstract onTransportClose(error?: Error): void;
  /** Input arrived from the peer. */
  protected onActivity(): void {}
  /** The peer does not read its output; by default the stream ends. */
  protected onOverflow(): void {
    this.options.log.warn("{who}: not reading its stream; closing", { who: this.who() });
    queueMicrotask(() =>
      this.fail(new StreamError("resource-constraint", "Too much output waiting"))
    );
  }
  /**
   * A handler failed with something other than a StreamError (a bug): the
   * stream's state is unknown, so by default it ends.
   */
  protected onInternalError(err: unknown, _frame: Frame): void {
    this.options.log.error("{who}: internal error: {err}", { who: this.who(), err });
    this.fail(new StreamError("internal-server-error"));
  }
  /** Who the stream is, for log lines. */
  protected abstract who(): string;
  /** Our header's attributes (called when it is due). */
  protected abstract headerAttrs(): StreamOpenAttrs;

  // ---- what the core does ------------------------------------------------------

  #onFrame(frame: Frame): void | Promise<void> {
    if (this.#closed) return;
    switch (frame.kind) {
      case "open":
        return this.onOpen(frame.attrs, frame.name, frame.ns);
      case "stanza":
        if (frame.element.name === "stream:error") return this.onPeerError(frame.element);
        return this.onElement(frame.element);
      case "close":
        this.options.log.debug("{who}: stream closed by peer", { who: this.who() });
        return this.onPeerClose();
      case "error":
        this.options.broken.note(
          this.transport.remoteAddress,
          this.who(),
          `${frame.condition}: ${frame.text}`,
        );
        throw new StreamError(frame.condition, frame.text);
    }
  }

  #onError(err: unknown, frame: Frame): void {
    if (err instanceof StreamError) return this.fail(err);
    if (this.#closed) return;
    this.onInternalError(err, frame);
  }

  /** Our header, unless it went out already for this stream. */
  sendHeader(): void {
    if (this.#headerSent) return;
    this.#headerSent = true;
    this.transport.open(this.headerAttrs());
  }

  send(x: Element | string): void {
    if (this.#closed) return;
    this.transport.send(typeof x === "string" ? x : serialize(x));
  }

  /**
   * A stream restart (after SASL success): the peer's next header opens a
   * new stream; an initiating stream opens it with its header at once.
   */
  restart(): void {
    this.#headerSent = false;
    this.transport.restart();
    if (this.options.initiating) this.sendHeader();
  }

  /**
   * Server-side STARTTLS (RFC 6120 §5.4.3): `<proceed/>`, the handshake,
   * then a new stream. Rejects when the handshake fails.
   */
  async startTls(proceed: string, options: ServerTlsOptions): Promise<void> {
    if (!this.transport.startTls) throw new StreamError("unsupported-feature");
    this.#headerSent = false;
    await this.transport.startTls(proceed, options);
  }

  /**
   * Client-side STARTTLS (an initiating stream, after the peer's
   * `<proceed/>`): `handshake` makes the transport TLS (it restarts the
   * parser first, synchronously); then a new stream, our header first.
   * Rejects when the handshake fails.
   */
  async startTlsClient(handshake: () => Promise<void>): Promise<void> {
    this.#headerSent = false;
    await handshake();
    if (this.options.initiating) this.sendHeader();
  }

  /** The peer authenticated: the auth timer stops, per-IP limits stop counting it. */
  authenticated(): void {
    clearTimeout(this.#authTimer);
    this.#authTimer = undefined;
  }

  /** (Re)arm the idle timer: `onIdle` runs after `ms` without another call. */
  armIdle(ms: number, onIdle: () => void): void {
    clearTimeout(this.#idleTimer);
    if (ms > 0 && !this.#closed) this.#idleTimer = setTimeout(onIdle, ms);
  }

  /** Activity of ours (a stanza sent, a request out): the stream is not idle (`watchIdle`). */
  touch(): void {
    this.#lastActivity = Date.now();
  }

  /**
   * For links (s2s, components) that carry traffic both ways: `onIdle`
   * runs once `ms` pass without input or `touch`, and not while `busy()`
   * (a request waiting for its answer). Checked when due, at most once a
   * second, rather than re-armed on every stanza.
   */
  watchIdle(ms: number, onIdle: () => void, busy: () => boolean = () => false): void {
    const due = this.#lastActivity + ms - Date.now();
    this.armIdle(Math.max(due, 1000), () => {
      if (Date.now() - this.#lastActivity >= ms && !busy()) onIdle();
      else this.watchIdle(ms, onIdle, busy);
    });
  }

  /** End the stream with `error`. */
  fail(error: StreamError): void {
    this.close(error);
  }

  /**
   * The close sequence (RFC 6120 §4.4): our header if none went out, the
   * error if any, the closing; the transport then closes. Safe to call twice.
   */
  close(error?: StreamError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTimers();
    if (!this.transport.closed) {
      this.sendHeader();
      this.transport.close(error ? serialize(error.toElement()) : undefined);
    } else this.transport.close();
    if (error) {
      this.options.log.debug("{who}: closed with {condition}", {
        who: this.who(),
        condition: error.condition,
      });
    }
  }

  #clearTimers(): void {
    clearTimeout(this.#authTimer);
    clearTimeout(this.#idleTimer);
    this.#authTimer = undefined;
    this.#idleTimer = undefined;
  }
}
