/**
 * The TCP XML stream (RFC 6120 §4) as a `StreamTransport`: a `Connection`
 * (node:net/node:tls socket) read through `FrameInput`, written as one
 * long document — the `<stream:stream>` header, elements as its children,
 * `</stream:stream>`. The only transport that can switch to TLS in the
 * middle of a stream (STARTTLS).
 */
import type { Connection, ServerTlsOptions, TlsState } from "../net/connection.ts";
import { openTag } from "../xml/element.ts";
import { NS } from "../xml/namespaces.ts";
import { FrameInput } from "./frame_input.ts";
import type {
  FrameSink,
  StreamOpenAttrs,
  StreamTransport,
  TransportKind,
  TransportLimits,
} from "./transport.ts";

export class XmlStreamTransport implements StreamTransport {
  readonly kind: TransportKind = "tcp";
  #input: FrameInput | undefined;

  constructor(readonly connection: Connection) {}

  get remoteAddress(): string {
    return this.connection.remoteAddress;
  }

  get tls(): TlsState | undefined {
    return this.connection.tls;
  }

  get secure(): boolean {
    return this.connection.tls !== undefined;
  }

  get canStartTls(): boolean {
    return this.connection.tls === undefined;
  }

  get written(): number {
    return this.connection.written;
  }

  get pending(): number {
    return this.connection.pending;
  }

  get closed(): boolean {
    return this.connection.closed;
  }

  start(sink: FrameSink, limits: TransportLimits): void {
    const conn = this.connection;
    const input = new FrameInput(
      (frame) => sink.onFrame(frame),
      limits,
      (full) => full ? conn.pause() : conn.resume(),
      (err, frame) => sink.onError(err, frame),
    );
    this.#input = input;
    conn.start({
      onData: (chunk) => {
        sink.onActivity?.();
        input.push(chunk);
      },
      onClose: (error) => {
        input.stop();
        sink.onClose(error);
      },
      onOverflow: sink.onOverflow ? () => sink.onOverflow!() : undefined,
    }, { readRate: limits.readRate, maxOutputBytes: limits.maxOutputBytes });
  }

  open(attrs: StreamOpenAttrs): void {
    const { xmlns, ...rest } = attrs;
    this.connection.write(
      "<?xml version='1.0'?>" +
        openTag("stream:stream", { xmlns, "xmlns:stream": NS.stream, ...rest }),
    );
  }

  send(data: string): void {
    this.connection.write(data);
  }

  close(error?: string): void {
    this.#input?.stop();
    const conn = this.connection;
    if (conn.closed) return;
    if (error) conn.write(error);
    conn.write("</stream:stream>");
    conn.close();
  }

  restart(): void {
    this.#input?.reset();
  }

  async startTls(proceed: string, options: ServerTlsOptions): Promise<void> {
    // The next bytes are a TLS handshake, then a new stream: a fresh parser.
    this.#input?.resetForTls();
    await this.connection.startTls(proceed, options);
  }

  /** Outgoing s2s: the parser restarts for the stream that follows our `<starttls/>`. */
  resetForTls(): void {
    this.#input?.resetForTls();
  }

  authenticated(): void {
    this.connection.authenticated();
  }

  writable(): Promise<void> {
    return this.connection.writable();
  }
}
