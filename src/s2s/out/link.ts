/**
 * One connection of an outgoing s2s stream, on the stream core
 * (src/stream/core.ts): frame wiring, our header on start and after each
 * restart (we initiate: SASL success, our STARTTLS), the close sequence
 * and the idle watch are the core's. What the frames mean is the owner's
 * (S2sOutStream and its OutNegotiator); a connection attempt that was
 * given up leaves its link stale, and the owner ignores it from then on.
 */
import type { Config } from "../../config/schema.ts";
import type { Connection } from "../../net/connection.ts";
import type { ConnectionOptions } from "node:tls";
import { NS } from "../../xml/namespaces.ts";
import type { Element } from "../../xml/element.ts";
import type { Frame } from "../../xml/parser.ts";
import { StreamCore } from "../../stream/core.ts";
import type { StreamOpenAttrs } from "../../stream/transport.ts";
import { XmlStreamTransport } from "../../stream/xml_stream.ts";
import { BrokenStreamLog } from "../../stream/broken_streams.ts";
import { serverTransportLimits } from "../../stream/limits.ts";
import { StreamError } from "../../core/errors.ts";
import { NS_DIALBACK } from "../common.ts";
import { NegotiationError } from "./failure.ts";
import { peerStreamError } from "./policy.ts";
import { logger } from "../../log.ts";

const log = logger("s2s");
const brokenStreams = new BrokenStreamLog(log);

/** What the owner does with the link's input and events. */
export interface LinkOwner {
  opened(attrs: Record<string, string>): void | Promise<void>;
  element(element: Element): void | Promise<void>;
  peerClosed(): void;
  /** Input arrived (the peer's first data settles a connection attempt). */
  activity(): void;
  transportClosed(error?: Error): void;
  /** The peer stopped reading (called from inside a write). */
  overflow(): void;
  /** The link cannot go on: a NegotiationError, or anything else thrown. */
  failed(err: unknown): void;
}

export class S2sOutLink extends StreamCore {
  readonly #xml: XmlStreamTransport;

  constructor(
    readonly connection: Connection,
    readonly local: string,
    readonly remote: string,
    config: Config,
    readonly owner: LinkOwner,
  ) {
    const xml = new XmlStreamTransport(connection);
    super(xml, {
      log,
      broken: brokenStreams,
      limits: serverTransportLimits(config),
      // The stream's own deadline (s2s.connectTimeoutSeconds) covers authentication.
      authTimeoutMs: 0,
      initiating: true,
    });
    this.#xml = xml;
  }

  /**
   * Our STARTTLS, after the peer's `<proceed/>`: the parser restarts for
   * the TLS bytes, the handshake, then our new header.
   */
  startTlsAsClient(options: ConnectionOptions): Promise<void> {
    return this.startTlsClient(() => {
      this.#xml.resetForTls();
      return this.connection.startTlsClient!(options);
    });
  }

  protected override headerAttrs(): StreamOpenAttrs {
    return {
      xmlns: NS.server,
      "xmlns:db": NS_DIALBACK,
      from: this.local,
      to: this.remote,
      version: "1.0",
    };
  }

  protected override who(): string {
    return `${this.local} → ${this.remote}`;
  }

  protected override onOpen(attrs: Record<string, string>): void | Promise<void> {
    return this.owner.opened(attrs);
  }

  protected override onElement(element: Element): void | Promise<void> {
    return this.owner.element(element);
  }

  /** The peer's stream error ends negotiation or the stream: the owner's failure. */
  protected override onPeerError(error: Element): void {
    throw peerStreamError(error);
  }

  protected override onPeerClose(): void {
    this.owner.peerClosed();
  }

  protected override onActivity(): void {
    this.owner.activity();
  }

  protected override onTransportClose(error?: Error): void {
    this.owner.transportClosed(error);
  }

  protected override onOverflow(): void {
    this.owner.overflow();
  }

  /**
   * A StreamError reaching here is the peer's malformed XML (the parser's
   * error frame): a failure of the remote server, reported as such; no
   * stream error goes back, as the owner decides how the stream ends.
   */
  override fail(error: StreamError): void {
    if (this.closed) return;
    this.owner.failed(
      new NegotiationError("closed", `the remote server sent malformed XML: ${error.text ?? ""}`),
    );
  }

  protected override onInternalError(err: unknown, _frame: Frame): void {
    this.owner.failed(err);
  }
}
