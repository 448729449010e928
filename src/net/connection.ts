/**
 * `Connection`: what every listener hands to the rest of the server. A
 * byte source, a writer that batches one tick's output into one socket
 * write, the peer address, the TLS state and a way to upgrade to TLS.
 * Nothing above `src/net/` knows which API accepted the connection.
 */
import type { Socket } from "node:net";
import {
  connect as tlsConnect,
  type ConnectionOptions,
  type SecureContext,
  TLSSocket,
} from "node:tls";
import { setImmediate } from "node:timers";

export interface ConnectionSink {
  /** Bytes as they arrive (after TLS decryption). */
  onData(chunk: Uint8Array): void;
  /** The transport closed; `error` when it failed. Called once. */
  onClose(error?: Error): void;
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
  /** Start delivering data to `sink`. */
  start(sink: ConnectionSink): void;
  /** Queue output; everything queued in one tick goes out in one write. */
  write(data: string): void;
  /** Stop / restart reading (backpressure and rate limiting). */
  pause(): void;
  resume(): void;
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

/** A `Connection` over a `node:net` or `node:tls` socket. */
export class SocketConnection implements Connection {
  #socket: Socket;
  #sink: ConnectionSink | undefined;
  #queue: string[] = [];
  #flushScheduled = false;
  #closed = false;
  #tls: TlsState | undefined;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;

  constructor(socket: Socket, tls?: TlsState) {
    this.#socket = socket;
    this.#tls = tls;
    this.remoteAddress = normalizeAddress(socket.remoteAddress ?? "");
    this.remotePort = socket.remotePort ?? 0;
    this.localPort = socket.localPort ?? 0;
    socket.setNoDelay(true);
  }

  get tls(): TlsState | undefined {
    return this.#tls;
  }

  get closed(): boolean {
    return this.#closed;
  }

  start(sink: ConnectionSink): void {
    this.#sink = sink;
    this.#attach(this.#socket);
  }

  #onData = (chunk: Uint8Array) => this.#sink?.onData(chunk);
  #onError = (err: Error) => this.#finish(err);
  #onClose = () => this.#finish();

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
    this.#queue.length = 0;
    this.#socket.destroy();
    const sink = this.#sink;
    this.#sink = undefined;
    sink?.onClose(error);
  }

  write(data: string): void {
    if (this.#closed) return;
    this.#queue.push(data);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flush);
    }
  }

  #flush = () => {
    this.#flushScheduled = false;
    if (this.#closed || this.#queue.length === 0) return;
    const out = this.#queue.length === 1 ? this.#queue[0] : this.#queue.join("");
    this.#queue.length = 0;
    this.#socket.write(out);
  };

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    if (!this.#closed) this.#socket.resume();
  }

  startTls(lastPlaintext: string, options: ServerTlsOptions): Promise<void> {
    const plain = this.#socket;
    this.#flush();
    // Measured on Deno 2.9: creating the TLSSocket while the plaintext write
    // is pending makes the first upgrade of a process fail with EPERM, so
    // stop reading, write, and upgrade in the write callback.
    this.#detach(plain);
    plain.pause();
    return new Promise((resolve, reject) => {
      plain.write(lastPlaintext, (err) => {
        if (err) {
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
    return new Promise((resolve, reject) => {
      const secure = tlsConnect({ ...options, socket: plain, rejectUnauthorized: false });
      this.#socket = secure;
      this.#attach(secure);
      secure.once("secureConnect", () => {
        secure.setNoDelay(true);
        this.#tls = tlsStateOf(secure);
        resolve();
      });
      secure.once("error", reject);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    const socket = this.#socket;
    socket.end();
    // A peer that never closes its side must not pin the socket.
    const timer = setTimeout(() => socket.destroy(), 2000);
    socket.once("close", () => clearTimeout(timer));
    const sink = this.#sink;
    this.#sink = undefined;
    sink?.onClose();
  }
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
