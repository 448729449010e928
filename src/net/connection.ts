/**
 * `Connection`: what every listener hands to the rest of the server. A
 * byte source, a writer that batches one tick's output into one socket
 * write, the peer address, the TLS state and a way to upgrade to TLS.
 * Nothing above `src/net/` knows which API accepted the connection.
 *
 * It also holds the transport's limits: a read rate (token bucket, reading
 * stops when it runs dry) and an output high-water mark (a peer that does
 * not read cannot make us buffer without bound).
 */
import type { Socket } from "node:net";
import {
  connect as tlsConnect,
  type ConnectionOptions,
  type SecureContext,
  TLSSocket,
} from "node:tls";
import { setImmediate } from "node:timers";
import { type ReadRate, ReadRateBucket } from "./read_rate.ts";

export interface ConnectionSink {
  /** Bytes as they arrive (after TLS decryption). */
  onData(chunk: Uint8Array): void;
  /** The transport closed; `error` when it failed. Called once. */
  onClose(error?: Error): void;
  /**
   * Output waiting to reach the kernel passed `maxOutputBytes`: the peer
   * is not reading. Called once, from inside `write`; the owner closes the
   * stream (soon, not from inside this call). What was queued in our
   * writer is dropped right after this returns. Without this callback the
   * connection is destroyed.
   */
  onOverflow?(): void;
}

export interface ConnectionLimits {
  /** Bytes read per second and burst; reading pauses while over it. */
  readRate?: ReadRate;
  /**
   * Characters (bytes for ASCII) written but not yet handed to the kernel
   * (our writer's queue plus the socket's own buffer, after TLS too) past
   * which the sink's `onOverflow` fires; 0 or absent: no mark.
   */
  maxOutputBytes?: number;
}

export interface TlsState {
  /** SNI name the client asked for, if any. */
  servername?: string;
  /** ALPN protocol negotiated, if any. */
  alpn?: string;
  protocol?: string;
  /**
   * The peer's certificate chain as DER, leaf first (s2s: the server asks
   * for client certificates); absent when the peer sent none.
   */
  peerChain?: Uint8Array[];
}

export interface Connection {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
  readonly tls: TlsState | undefined;
  /** Start delivering data to `sink`, within `limits`. */
  start(sink: ConnectionSink, limits?: ConnectionLimits): void;
  /** Queue output; everything queued in one tick goes out in one write. */
  write(data: string): void;
  /** Characters passed to `write` since the connection opened. */
  readonly written: number;
  /** Of those, how many have not reached the kernel yet (queued, or in the socket's buffer). */
  readonly pending: number;
  /**
   * Resolves once the pending output is down to a quarter of the output
   * mark (at once when it is, or there is no mark), or the connection
   * closed: a producer of a burst (offline messages…) waits on it so that
   * a client that reads does not overflow its mark.
   */
  writable(): Promise<void>;
  /** Stop / restart reading (backpressure); the read rate limit pauses on its own. */
  pause(): void;
  resume(): void;
  /**
   * The peer authenticated: limits on unauthenticated connections (per
   * IP) no longer count it.
   */
  authenticated(): void;
  /**
   * Write `lastPlaintext` (e.g. `<proceed/>`), then switch the transport to
   * TLS as the server. Data already read is unaffected; data arriving after
   * the handshake flows to the same sink.
   */
  startTls(lastPlaintext: string, tls: ServerTlsOptions): Promise<void>;
  /**
   * Switch to TLS as the client (outgoing s2s after `<proceed/>`). The
   * certificate is not rejected here: the caller inspects `tls`.
   */
  startTlsClient?(options: ConnectionOptions): Promise<void>;
  /** Flush queued output, then close. */
  close(): void;
  readonly closed: boolean;
}

export interface ServerTlsOptions {
  secureContext: SecureContext;
  SNICallback: (name: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;
  ALPNProtocols?: string[];
  /** Ask the peer for its certificate (s2s, SASL EXTERNAL); never rejects it. */
  requestCert?: boolean;
}

export interface SocketConnectionOptions {
  /** Called once when the peer authenticates (the listener's connection limits). */
  onAuthenticated?: () => void;
}

/** Why reading is stopped: the owner (backpressure) and/or the read rate. */
const HELD_BY_OWNER = 1;
const HELD_BY_RATE = 2;

/** Idle time before the kernel's keepalive probes start on a connection. */
const KEEPALIVE_IDLE_MS = 60_000;

/** A `Connection` over a `node:net` or `node:tls` socket. */
export class SocketConnection implements Connection {
  #socket: Socket;
  #sink: ConnectionSink | undefined;
  #queue: string[] = [];
  #queued = 0;
  #flushScheduled = false;
  #closed = false;
  #tls: TlsState | undefined;
  #written = 0;
  /** Characters handed to the current socket's `write` (or dropped at overflow). */
  #sent = 0;
  #maxOutput = 0;
  #overflowed = false;
  #bucket: ReadRateBucket | undefined;
  #holds = 0;
  /**
   * A STARTTLS upgrade is under way: holds are only recorded, and applied
   * to the TLS socket once its handshake is done (see #hold).
   */
  #upgrading = false;
  #rateTimer: ReturnType<typeof setTimeout> | undefined;
  #onAuthenticated: (() => void) | undefined;
  #writableWaiters: (() => void)[] = [];
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
  #socketGone = Promise.withResolvers<void>();
  /**
   * Resolves once the socket (the TLS one after an upgrade) has closed: a
   * listener shutting down waits on it for a connection that is ending, so
   * its last words (a stream error) are flushed before the process exits.
   */
  readonly gone: Promise<void> = this.#socketGone.promise;

  constructor(socket: Socket, tls?: TlsState, options: SocketConnectionOptions = {}) {
    this.#socket = socket;
    this.#tls = tls;
    this.#onAuthenticated = options.onAuthenticated;
    this.remoteAddress = normalizeAddress(socket.remoteAddress ?? "");
    this.remotePort = socket.remotePort ?? 0;
    this.localPort = socket.localPort ?? 0;
    socket.setNoDelay(true);
    // A peer that vanished without a FIN (a NAT dropping its state, a
    // crashed host) is noticed by the kernel within minutes, not the
    // system's default two hours: a component or server whose old
    // connection stays half open is refused as a conflict until then.
    socket.setKeepAlive(true, KEEPALIVE_IDLE_MS);
  }

  get tls(): TlsState | undefined {
    return this.#tls;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get written(): number {
    return this.#written;
  }

  get pending(): number {
    return this.#written - this.#sent + this.#socket.writableLength;
  }

  writable(): Promise<void> {
    if (this.#closed || this.#maxOutput === 0 || this.pending <= this.#maxOutput / 4) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#writableWaiters.push(resolve));
  }

  #wakeWriters = (): void => {
    if (this.#writableWaiters.length === 0) return;
    if (!this.#closed && this.pending > this.#maxOutput / 4) return;
    const waiters = this.#writableWaiters;
    this.#writableWaiters = [];
    for (const w of waiters) w();
  };

  start(sink: ConnectionSink, limits: ConnectionLimits = {}): void {
    this.#sink = sink;
    this.#maxOutput = limits.maxOutputBytes ?? 0;
    if (limits.readRate && limits.readRate.bytesPerSecond > 0) {
      this.#bucket = new ReadRateBucket(limits.readRate);
    }
    this.#attach(this.#socket);
  }

  authenticated(): void {
    const fn = this.#onAuthenticated;
    this.#onAuthenticated = undefined;
    fn?.();
  }

  #onData = (chunk: Uint8Array) => {
    const wait = this.#bucket?.consume(chunk.length) ?? 0;
    if (wait > 0 && !(this.#holds & HELD_BY_RATE)) {
      this.#hold(HELD_BY_RATE, true);
      this.#rateTimer = setTimeout(() => {
        this.#rateTimer = undefined;
        this.#hold(HELD_BY_RATE, false);
      }, wait);
    }
    this.#sink?.onData(chunk);
  };
  #onError = (err: Error) => this.#finish(err);
  #onClose = () => {
    this.#socketGone.resolve();
    this.#finish();
  };

  #attach(socket: Socket): void {
    socket.on("data", this.#onData);
    socket.on("error", this.#onError);
    socket.on("close", this.#onClose);
  }

  #detach(socket: Socket): void {
    socket.off("data", this.#onData);
    socket.off("error", this.#onError);
    socket.off("close", this.#onClose);
  }

  #finish(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#rateTimer);
    this.#wakeWriters();
    this.#queue.length = 0;
    this.#socket.destroy();
    const sink = this.#sink;
    this.#sink = undefined;
    sink?.onClose(error);
  }

  write(data: string): void {
    if (this.#closed) return;
    this.#queue.push(data);
    this.#queued += data.length;
    this.#written += data.length;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flush);
    }
    if (this.#maxOutput > 0 && !this.#overflowed && this.pending > this.#maxOutput) {
      this.#overflow();
    }
  }

  /**
   * The peer stopped reading. Our queue is dropped (the owner kept what it
   * must not lose, e.g. messages for offline storage, in `onOverflow`);
   * what the socket already holds goes when the owner's close destroys it.
   */
  #overflow(): void {
    this.#overflowed = true;
    const sink = this.#sink;
    if (sink?.onOverflow) sink.onOverflow();
    else this.#finish(new Error("output buffer overflow"));
    this.#sent += this.#queued;
    this.#queue.length = 0;
    this.#queued = 0;
  }

  #flush = () => {
    this.#flushScheduled = false;
    if (this.#closed || this.#queue.length === 0) return;
    const out = this.#queue.length === 1 ? this.#queue[0] : this.#queue.join("");
    this.#queue.length = 0;
    this.#queued = 0;
    this.#sent += out.length;
    this.#socket.write(out, this.#wakeWriters);
  };

  pause(): void {
    this.#hold(HELD_BY_OWNER, true);
  }

  resume(): void {
    this.#hold(HELD_BY_OWNER, false);
  }

  #hold(reason: number, on: boolean): void {
    const before = this.#holds;
    this.#holds = on ? before | reason : before & ~reason;
    if (this.#closed || this.#upgrading || (before === 0) === (this.#holds === 0)) return;
    setReading(this.#socket, this.#holds === 0);
  }

  /**
   * The upgrade is over: the TLS socket reads unless held. During the
   * upgrade the socket under us changes twice (the plaintext one, paused
   * and without listeners, then the TLS one mid-handshake): resuming the
   * first let it read the ClientHello into nobody's hands, and stopping
   * the second's TCP handle stalled the handshake.
   */
  #upgraded(secure: Socket): void {
    this.#upgrading = false;
    if (this.#holds !== 0 && !this.#closed) setReading(secure, false);
  }

  startTls(lastPlaintext: string, options: ServerTlsOptions): Promise<void> {
    const plain = this.#socket;
    this.#flush();
    // Measured on Deno 2.9: creating the TLSSocket while the plaintext write
    // is pending makes the first upgrade of a process fail with EPERM, so
    // stop reading, write, and upgrade in the write callback.
    this.#detach(plain);
    plain.pause();
    this.#upgrading = true;
    return new Promise((resolve, reject) => {
      plain.write(lastPlaintext, (err) => {
        if (err) {
          this.#upgrading = false;
          this.#finish(err);
          return reject(err);
        }
        const secure = new TLSSocket(plain, {
          isServer: true,
          secureContext: options.secureContext,
          SNICallback: options.SNICallback,
          ALPNProtocols: options.ALPNProtocols,
          requestCert: options.requestCert,
          rejectUnauthorized: false,
        });
        this.#socket = secure;
        this.#attach(secure);
        secure.once("secure", () => {
          this.#tls = tlsStateOf(secure);
          this.#upgraded(secure);
          resolve();
        });
        secure.once("error", reject);
      });
    });
  }

  startTlsClient(options: ConnectionOptions): Promise<void> {
    const plain = this.#socket;
    this.#flush();
    this.#detach(plain);
    this.#upgrading = true;
    return new Promise((resolve, reject) => {
      const secure = tlsConnect({ ...options, socket: plain, rejectUnauthorized: false });
      this.#socket = secure;
      this.#attach(secure);
      secure.once("secureConnect", () => {
        secure.setNoDelay(true);
        this.#tls = tlsStateOf(secure);
        this.#upgraded(secure);
        resolve();
      });
      secure.once("error", reject);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    clearTimeout(this.#rateTimer);
    this.#wakeWriters();
    const socket = this.#socket;
    if (this.#overflowed) {
      // What the socket still buffers was counted as undelivered and handed
      // to the owner (offline storage): a peer that starts reading during a
      // graceful close would get it twice. It gets a dropped connection.
      socket.destroy();
    } else socket.end();
    // A peer that never closes its side must not pin the socket.
    const timer = setTimeout(() => socket.destroy(), 2000);
    socket.once("close", () => clearTimeout(timer));
    const sink = this.#sink;
    this.#sink = undefined;
    sink?.onClose();
  }
}

/**
 * Start or stop reading a socket. Measured on Deno 2.9.6: `pause()` on a
 * TLS socket (STARTTLS or direct) stops its `data` events, but the TLS
 * layer keeps reading the TCP socket under it and buffers the plaintext
 * without bound (a paused connection accepted 64 MiB in 0.6 s, +120 MB
 * RSS). Only stopping the TCP handle itself pushes back on the peer; the
 * TLS handle keeps it as `_nativeTcpHandle`. A plain socket's `pause()`
 * already does. tests/integration/read_rate_test.ts guards this
 * against a Deno upgrade that moves the handle.
 */
function setReading(socket: Socket, on: boolean): void {
  if (on) socket.resume();
  else socket.pause();
  const tcp = (socket as unknown as { _handle?: { _nativeTcpHandle?: TcpHandle } })._handle
    ?._nativeTcpHandle;
  if (tcp && typeof tcp.readStop === "function") {
    if (on) tcp.readStart();
    else tcp.readStop();
  }
}

interface TcpHandle {
  readStart(): number;
  readStop(): number;
}

export function tlsStateOf(socket: TLSSocket): TlsState {
  const alpn = socket.alpnProtocol;
  return {
    // `servername` is set on server-side sockets once SNI was received.
    servername: (socket as unknown as { servername?: string | false }).servername || undefined,
    alpn: typeof alpn === "string" ? alpn : undefined,
    protocol: socket.getProtocol() ?? undefined,
    peerChain: peerChainOf(socket),
  };
}

/** DER certificates from `getPeerCertificate(true)`, following issuer links. */
function peerChainOf(socket: TLSSocket): Uint8Array[] | undefined {
  let cert = socket.getPeerCertificate(true) as
    | { raw?: Uint8Array; issuerCertificate?: unknown; fingerprint256?: string }
    | null;
  const chain: Uint8Array[] = [];
  const seen = new Set<string>();
  while (cert && cert.raw && chain.length < 10) {
    const id = cert.fingerprint256 ?? String(chain.length);
    if (seen.has(id)) break;
    seen.add(id);
    chain.push(new Uint8Array(cert.raw));
    cert = cert.issuerCertificate as typeof cert;
  }
  return chain.length ? chain : undefined;
}

/** "::ffff:127.0.0.1" → "127.0.0.1", so limits per IP see one address. */
export function normalizeAddress(addr: string): string {
  return addr.startsWith("::ffff:") && addr.includes(".") ? addr.slice(7) : addr;
}
