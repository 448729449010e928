/**
 * `StreamTransport`: what a stream runs over, with its framing. The stream
 * core (negotiation, sessions) consumes frames and writes elements through
 * it and never sees raw stream syntax, so one core serves:
 *
 * - the TCP XML stream (RFC 6120: `<stream:stream>` header, stanzas as
 *   children, `</stream:stream>`), over `node:net`/`node:tls` — the only
 *   transport that can switch to TLS mid-stream (STARTTLS);
 * - XMPP over WebSocket (RFC 7395: `<open/>` and `<close/>` in
 *   `urn:ietf:params:xml:ns:xmpp-framing`, one element per message);
 * - BOSH (XEP-0124/XEP-0206: elements wrapped in `<body/>` of HTTP
 *   requests and responses).
 *
 * Input arrives as the parser's `Frame`s in order: `open` for a stream
 * header (TCP), `<open/>` (WebSocket) or a session creation / restart
 * request (BOSH), `stanza` for every top-level element, `close` and
 * `error`. A frame handler may return a promise: later frames wait for it
 * (in-order processing), and the transport stops reading while they do.
 */
import type { Frame } from "../xml/parser.ts";
import type { ServerTlsOptions, TlsState } from "../net/connection.ts";
import type { StreamLimits } from "./frame_input.ts";
import type { ReadRate } from "../net/read_rate.ts";

export type TransportKind = "tcp" | "websocket" | "bosh";

export interface FrameSink {
  /** The peer's frames, in order; a returned promise holds back the next ones. */
  onFrame(frame: Frame): void | Promise<void>;
  /** A frame's handling threw or rejected (a StreamError ends the stream). */
  onError(err: unknown, frame: Frame): void;
  /** Input arrived (whitespace keepalives too): the peer is alive. */
  onActivity?(): void;
  /** The transport is gone (peer closed, network error, BOSH inactivity). Called once. */
  onClose(error?: Error): void;
  /**
   * Output waiting for the peer passed the transport's mark: the peer is
   * not reading. Called once, from inside a write; the owner ends the
   * stream soon after, not from inside this call.
   */
  onOverflow?(): void;
}

export interface TransportLimits extends StreamLimits {
  readRate?: ReadRate;
  /** Output not yet taken by the peer past which `onOverflow` fires; 0: none. */
  maxOutputBytes?: number;
}

/** The attributes of an outgoing stream header, whatever the framing. */
export interface StreamOpenAttrs {
  /** The content namespace: jabber:client, jabber:server, jabber:component:accept. */
  xmlns: string;
  from?: string;
  to?: string;
  /** Ours as the receiving side; none on a stream we initiate (RFC 6120 §4.7.3). */
  id?: string;
  version?: string;
  "xml:lang"?: string;
  /** Extra attributes (xmlns:db for dialback). */
  [name: string]: string | undefined;
}

export interface StreamTransport {
  readonly kind: TransportKind;
  readonly remoteAddress: string;
  /** TLS as the transport sees it (the socket's, or the HTTPS connection's). */
  readonly tls: TlsState | undefined;
  /**
   * The peer's traffic cannot be read on the way: TLS on this transport,
   * or (HTTP transports) HTTPS terminated by a trusted reverse proxy or a
   * loopback peer. What "TLS required" checks.
   */
  readonly secure: boolean;
  /** STARTTLS can be offered (the TCP stream before TLS). */
  readonly canStartTls: boolean;
  /** Start delivering frames to `sink`, within `limits`. */
  start(sink: FrameSink, limits: TransportLimits): void;
  /** Our stream header (once per stream and restart). */
  open(attrs: StreamOpenAttrs): void;
  /**
   * One serialized top-level element (a stanza or a nonza), written in
   * the stream's content namespace: the framing adds what a standalone
   * message needs (WebSocket and BOSH qualify each element).
   */
  send(data: string): void;
  /**
   * The end of our stream: `error` (a serialized `<stream:error/>`) if
   * given, then the closing (`</stream:stream>`, `<close/>`, BOSH
   * terminate), then the transport closes once that is flushed.
   */
  close(error?: string): void;
  /** Stream restart (after SASL success, RFC 6120 §6.4.6): a new stream follows. */
  restart(): void;
  /**
   * Write `proceed` (the `<proceed/>` element), then become TLS as the
   * server; the parser restarts and plaintext read after `<starttls/>` is
   * dropped. Only when `canStartTls`.
   */
  startTls?(proceed: string, options: ServerTlsOptions): Promise<void>;
  /** The peer authenticated: per-IP limits on unauthenticated connections no longer count it. */
  authenticated(): void;
  /** Characters passed to `send`/`open`/`close` since the transport opened. */
  readonly written: number;
  /** Of those, how many the peer has not taken yet (our buffers, the socket's). */
  readonly pending: number;
  /**
   * Resolves once pending output is down to a quarter of the mark, or the
   * transport closed: a burst producer (offline messages) waits on it.
   */
  writable(): Promise<void>;
  readonly closed: boolean;
}
