/**
 * XMPP over WebSocket (RFC 7395) as a `StreamTransport`: a client stream
 * (C2sStream) runs over it unchanged — same SASL, binding, limits and
 * session model as over TCP. The framing is in ./framing.ts, input
 * ordering and bounds in ./input.ts.
 *
 * No STARTTLS (the HTTP layer decides whether the connection is secure:
 * HTTPS, or a trusted proxy / loopback peer). Output high-water mark:
 * `WebSocket.bufferedAmount` (what the runtime has not written to the
 * socket yet) is `pending`; past `maxOutputBytes` the sink's `onOverflow`
 * fires, as on TCP (measured: a peer that stops reading makes it grow).
 *
 * Input size is Deno's to bound, not ours: a message arrives only whole,
 * after Deno buffered it (up to 64 MiB; larger resets the connection;
 * from about 4 MiB it was never delivered, the connection dying at the
 * unanswered ping, 30 s). WsInput refuses anything over maxStanzaSize,
 * once it has arrived. See docs/configuration.md, WebSocket.
 */
import type { TlsState } from "../../net/connection.ts";
import { NS } from "../../xml/namespaces.ts";
import type {
  FrameSink,
  StreamOpenAttrs,
  StreamTransport,
  TransportKind,
  TransportLimits,
} from "../transport.ts";
import { CLOSE_ELEMENT, NS_FRAMING, openElement, qualify } from "./framing.ts";
import { WsInput } from "./input.ts";
import { abortWebSocket } from "../../http/deno_internals.ts";

/**
 * After our `<close/>`, how long the peer has to answer with its own
 * before the WebSocket is closed anyway (RFC 7395 §3.6).
 */
const CLOSE_GRACE_MS = 2000;
/**
 * After we close the WebSocket, how long its closing handshake may take
 * before the connection is dropped: a peer that stops reading never
 * completes it (see abortWebSocket).
 */
const ABORT_AFTER_MS = 5000;
/** How often writable() looks at bufferedAmount while someone waits on it. */
const WRITABLE_POLL_MS = 25;
/** RFC 6455 §7.4.1: normal closure. */
const WS_NORMAL = 1000;

export interface WebSocketTransportOptions {
  remoteAddress: string;
  /** HTTPS, or a peer the HTTP layer trusts to have used it (a proxy, loopback). */
  secure: boolean;
  /** The peer authenticated (the connection limiter's per-IP counts). */
  onAuthenticated?: () => void;
  /** The WebSocket is gone (the connection limiter's slot). Called once. */
  onClosed?: () => void;
}

export class WebSocketTransport implements StreamTransport {
  readonly kind: TransportKind = "websocket";
  readonly canStartTls = false;
  readonly remoteAddress: string;
  readonly secure: boolean;
  /** The HTTP layer holds the TLS state, if any: `secure` says what counts. */
  readonly tls: TlsState | undefined = undefined;
  #written = 0;
  #closed = false;
  #gone = false;
  #sink: FrameSink | undefined;
  #input: WsInput | undefined;
  #maxOutput = 0;
  #overflowed = false;
  /** The stream's content namespace, from our header. */
  #contentNs: string = NS.client;
  /** The peer sent `<close/>`: our answer ends the WebSocket at once. */
  #peerClosed = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set once we closed the WebSocket: drops it if the close event does not come. */
  #abortTimer: ReturnType<typeof setTimeout> | undefined;
  #waiters: (() => void)[] = [];
  #poll: ReturnType<typeof setInterval> | undefined;

  constructor(readonly socket: WebSocket, readonly options: WebSocketTransportOptions) {
    this.remoteAddress = options.remoteAddress;
    this.secure = options.secure;
    socket.binaryType = "arraybuffer";
  }

  get written(): number {
    return this.#written;
  }

  get pending(): number {
    return this.#gone ? 0 : this.socket.bufferedAmount;
  }

  get closed(): boolean {
    return this.#closed || this.#gone;
  }

  start(sink: FrameSink, limits: TransportLimits): void {
    this.#sink = sink;
    this.#maxOutput = limits.maxOutputBytes ?? 0;
    const input = new WsInput({
      onFrame: (frame) => {
        if (frame.kind === "close") this.#peerClosed = true;
        return sink.onFrame(frame);
      },
      onError: (err, frame) => sink.onError(err, frame),
      onActivity: () => sink.onActivity?.(),
      onClose: () => {},
    }, limits);
    this.#input = input;
    const socket = this.socket;
    socket.onmessage = (ev: MessageEvent) => {
      if (this.#closed) return this.#afterClose(ev.data);
      if (typeof ev.data === "string") input.push(ev.data);
      else input.pushBinary();
    };
    socket.onclose = () => this.#onGone();
    socket.onerror = () => {
      // A close event follows; the error alone says nothing more useful.
    };
  }

  open(attrs: StreamOpenAttrs): void {
    this.#contentNs = attrs.xmlns;
    this.#write(openElement(attrs));
  }

  send(data: string): void {
    if (this.#closed) return;
    this.#write(qualify(data, this.#contentNs));
  }

  /**
   * RFC 7395 §3.6: the error (if any), `<close/>`; the WebSocket closes
   * once the peer answered with its `<close/>` (at once if it sent it
   * first), or after CLOSE_GRACE_MS.
   */
  close(error?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#input?.stop();
    this.#wakeWaiters();
    if (this.#gone) return;
    if (error) this.#write(qualify(error, this.#contentNs));
    this.#write(CLOSE_ELEMENT);
    if (this.#peerClosed || this.socket.readyState === WebSocket.CONNECTING) return this.#end();
    this.#closeTimer = setTimeout(() => this.#end(), CLOSE_GRACE_MS);
  }

  restart(): void {
    this.#input?.restart();
  }

  authenticated(): void {
    this.options.onAuthenticated?.();
  }

  writable(): Promise<void> {
    if (this.#isWritable()) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      this.#poll ??= setInterval(() => {
        if (this.#isWritable()) this.#wakeWaiters();
      }, WRITABLE_POLL_MS);
    });
  }

  #isWritable(): boolean {
    return this.closed || this.#maxOutput === 0 || this.pending <= this.#maxOutput / 4;
  }

  #wakeWaiters(): void {
    clearInterval(this.#poll);
    this.#poll = undefined;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  #write(message: string): void {
    if (this.#gone || this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(message);
    this.#written += message.length;
    if (this.#maxOutput > 0 && !this.#overflowed && this.socket.bufferedAmount > this.#maxOutput) {
      this.#overflowed = true;
      if (this.#sink?.onOverflow) this.#sink.onOverflow();
      else this.#end();
    }
  }

  /** A message after our `<close/>`: the peer's answer ends the WebSocket; anything else is dropped. */
  #afterClose(data: unknown): void {
    if (typeof data === "string" && data.includes("<close") && data.includes(NS_FRAMING)) {
      this.#end();
    }
  }

  #end(): void {
    clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
    if (this.#gone) return;
    if (this.socket.readyState === WebSocket.CONNECTING) {
      // Closed before the upgrade completed (a server shutdown): end it once open.
      this.socket.addEventListener("open", () => this.#end(), { once: true });
      return;
    }
    try {
      this.socket.close(WS_NORMAL);
    } catch {
      // Still connecting or already closing: the close event comes either way.
    }
    this.#abortTimer ??= setTimeout(() => this.#abort(), ABORT_AFTER_MS);
  }

  /** The closing handshake never finished (a peer not reading): the connection goes now. */
  #abort(): void {
    if (this.#gone) return;
    // Without the hook the connection is Deno's to keep. Gone for us now either
    // way: the session and its slot end without waiting for a close event.
    abortWebSocket(this.socket);
    this.#onGone();
  }

  #onGone(): void {
    if (this.#gone) return;
    this.#gone = true;
    clearTimeout(this.#closeTimer);
    clearTimeout(this.#abortTimer);
    this.#input?.stop();
    this.#wakeWaiters();
    this.options.onClosed?.();
    this.#sink?.onClose();
  }
}
