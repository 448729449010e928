/**
 * The client-to-server stream: bytes → FrameInput (UTF-8 decoder and
 * XmlFrameParser) → this handler, which negotiates STARTTLS, SASL and resource binding
 * (RFC 6120 §4–§7) and then hands stanzas to the router. One instance per
 * connection; it owns the connection's `Session`. Authentication (SASL,
 * SASL2 with FAST, Bind2) is negotiated beside it: c2s_auth.ts,
 * sasl2_success.ts, bind2.ts.
 */
import type { Connection } from "../net/connection.ts";
import type { Config } from "../config/schema.ts";
import type { AuthProvider } from "../auth/types.ts";
import type { LoginThrottle } from "../auth/login_throttle.ts";
import { el, type Element, serialize } from "../xml/element.ts";
import { NS } from "../xml/namespaces.ts";
import type { Frame } from "../xml/parser.ts";
import { checkStreamRoot } from "./stream_root.ts";
import { StreamCore } from "./core.ts";
import type { StreamOpenAttrs, StreamTransport } from "./transport.ts";
import { XmlStreamTransport } from "./xml_stream.ts";
import { clientTransportLimits } from "./limits.ts";
import { prepDomain, prepResource } from "../jid.ts";
import { StanzaError, StreamError } from "../core/errors.ts";
import type { Host } from "../core/host.ts";
import type { Router } from "../core/router.ts";
import { Session, type SessionDriver } from "../core/session.ts";
import type { SessionRegistry } from "../core/sessions.ts";
import type { SecureContexts } from "../net/secure_contexts.ts";
import type { ConnectionLimiter } from "../net/connection_limiter.ts";
import { logger } from "../log.ts";
import { randomId } from "../util/random.ts";
import { BrokenStreamLog } from "./broken_streams.ts";
import { C2sAuth } from "./c2s_auth.ts";
import * as counters from "../metrics/counters.ts";

const log = logger("c2s");
const brokenStreams = new BrokenStreamLog(log);

/**
 * What the stream takes as a client's xml:lang: a BCP 47-shaped tag
 * (`en`, `de-CH`, `zh-Hant-TW`), at most 35 characters. Anything else is
 * ignored and the server's default applies.
 */
const LANGUAGE_TAG = /^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$/;
/** The server's own default language (RFC 6120 §4.7.4). */
const DEFAULT_LANG = "en";

export interface C2sServices {
  config: Config;
  hosts: Map<string, Host>;
  sessions: SessionRegistry;
  router: Router;
  auth: AuthProvider;
  tls: SecureContexts;
  loginThrottle: LoginThrottle;
  /**
   * The client connection caps (c2s.maxConnections, per IP) shared by every
   * client transport: the TCP listeners and the WebSocket handler.
   */
  limiter?: ConnectionLimiter;
}

/** An event fired on the host for elements the core does not know (SM, CSI…). */
export interface StreamElementEvent {
  session: Session;
  element: Element;
  /** The stream it came on: stream management's resumption hands it another session. */
  stream: C2sStream;
}

export function handleC2sConnection(conn: Connection, services: C2sServices): void {
  new C2sStream(new XmlStreamTransport(conn), services).start();
}

/**
 * A client stream over any transport (TCP, WebSocket, BOSH): the stream
 * core's lifecycle plus what RFC 6120 gives a client stream. It drives
 * its session (`SessionDriver`) until the transport goes; stream
 * management may then keep the session and a later stream adopt it.
 */
export class C2sStream extends StreamCore implements SessionDriver {
  session: Session;
  /** SASL and SASL2 until the client is authenticated. */
  readonly #auth = new C2sAuth(this);
  /** The transport as metrics count it (set at start, taken back at close). */
  #counted: counters.ConnectionLabel | undefined;

  constructor(transport: StreamTransport, readonly services: C2sServices) {
    super(transport, {
      log,
      broken: brokenStreams,
      limits: clientTransportLimits(services.config),
      authTimeoutMs: services.config.c2s.authTimeoutSeconds * 1000,
      authTimeoutText: "Authentication took too long",
    });
    this.session = new Session(randomId(), this);
  }

  override start(): void {
    this.services.sessions.track(this.session);
    this.#counted = counters.connectionOpened(this.transport);
    super.start();
  }

  /** SessionDriver: from now on this stream's input is `session`'s (a resumption). */
  adopt(session: Session): void {
    const previous = this.session;
    this.session = session;
    session.attach(this);
    // The client just spoke (its <resume/>, counted on the vehicle): a
    // ping that went unanswered on the dead connection is not held
    // against the new one.
    session.lastActivity = Date.now();
    // The language is the new stream's (RFC 6120 §4.7.4), not the old one's.
    session.lang = previous.lang;
    // Resumption authenticated it as binding would have: the auth timer stops.
    this.authenticated();
    // The stream's own session was only a vehicle for authentication.
    if (previous !== session) this.services.sessions.forget(previous);
  }

  /**
   * The client stopped reading and its output passed the mark. Called from
   * inside a send: the session's stream ends a moment later, outside
   * whatever routing loop is sending. Messages it will never get go to
   * offline storage (the `undelivered` event) instead of being lost —
   * unless a module keeps the session (stream management resends them).
   */
  protected override onOverflow(): void {
    const session = this.session;
    if (session.driver !== this) return;
    log.warn("{who}: not reading its stream; output passed {max} bytes, closing", {
      who: this.who(),
      max: this.services.config.c2s.maxOutputBytes,
    });
    if (!session.outbox.acking) session.stopSending();
    queueMicrotask(() => {
      const error = new StreamError(
        "resource-constraint",
        "Too much output waiting: the client is not reading",
      );
      if (session.fullJid === undefined) return this.fail(error);
      this.services.sessions.disconnected(session, error);
    });
  }

  protected override onActivity(): void {
    this.session.lastActivity = Date.now();
  }

  protected override onTransportClose(error?: Error): void {
    if (error) {
      log.debug("{ip}: connection error: {err}", {
        ip: this.transport.remoteAddress,
        err: error.message,
      });
    }
    this.#stop();
    if (this.#counted) counters.connectionClosed(this.#counted);
    const session = this.session;
    // A stream that handed its session on (resumed elsewhere) has nothing to end.
    if (session.driver !== this) return;
    if (session.fullJid === undefined) this.services.sessions.destroySession(session);
    else this.services.sessions.disconnected(session);
  }

  protected override onPeerClose(): void {
    this.services.sessions.destroySession(this.session);
  }

  /**
   * A frame's handling failed with something other than a StreamError.
   * Once the session is bound it costs only that element (logged with the
   * session; an iq get/set answered with internal-server-error, the
   * router decides), so one bad stanza ends neither the session nor the
   * process. During negotiation the stream's state is unknown after a
   * bug, so it ends with internal-server-error.
   */
  protected override onInternalError(err: unknown, frame: Frame): void {
    const session = this.session;
    if (frame.kind === "stanza" && session.fullJid !== undefined) {
      const host = this.services.hosts.get(session.host!)!;
      this.services.router.failed(
        { origin: session, stanza: frame.element, to: undefined, host },
        err,
      );
      return;
    }
    log.error("{who} (session {id}): internal error: {err}", {
      who: this.who(),
      id: session.id,
      err,
    });
    this.fail(new StreamError("internal-server-error"));
  }

  /** Public for the negotiation beside it (sasl2_success.ts, bind2.ts): its log lines name the stream. */
  override who(): string {
    return this.session.fullJid ?? this.session.bareJid ?? this.transport.remoteAddress;
  }

  /** Every stream error goes through the registry, which cleans up the session first. */
  override fail(error: StreamError): void {
    if (this.closed) return;
    if (this.session.driver === this) this.services.sessions.destroySession(this.session, error);
    else super.close(error);
  }

  /** SessionDriver: called (through Session.close) by destroySession: the last words. */
  override close(error?: StreamError): void {
    if (this.closed) return;
    super.close(error);
    this.#stop();
  }

  /** No more input reaches this stream's session. */
  #stop(): void {
    this.#auth.stop();
  }

  // ---- stream header (RFC 6120 §4.7) -------------------------------------

  protected override onOpen(attrs: Record<string, string>, name: string, ns: string): void {
    const session = this.session;
    const to = attrs.to === undefined ? undefined : prepDomain(attrs.to);
    if (session.host === undefined && to !== undefined && this.services.hosts.has(to)) {
      session.host = to;
    }
    this.#peer = attrs.from;
    checkStreamRoot(name, ns, attrs.xmlns, NS.client);
    if (to === undefined || !this.services.hosts.has(to) || to !== session.host) {
      throw new StreamError(
        "host-unknown",
        "This server does not serve " + (attrs.to ?? "that host"),
      );
    }
    const version = attrs.version;
    const major = version === undefined ? 0 : Number.parseInt(version.split(".")[0], 10);
    if (!(major >= 1)) throw new StreamError("unsupported-version", "XMPP 1.0 streams only");
    // RFC 6120 §4.7.4: each header (restarts too) sets the stream's
    // language; one without xml:lang leaves none from the previous header.
    const lang = attrs["xml:lang"];
    session.lang = lang !== undefined && lang.length <= 35 && LANGUAGE_TAG.test(lang)
      ? lang
      : undefined;
    session.notopen = false;
    this.sendHeader();
    this.send(this.features());
  }

  /** The `from` of the client's last header, reflected as our `to` (RFC 6120 §4.7.2). */
  #peer: string | undefined;

  /** The `from` of the client's last header, as it sent it. */
  get streamFrom(): string | undefined {
    return this.#peer;
  }

  protected override headerAttrs(): StreamOpenAttrs {
    const peer = this.#peer;
    return {
      xmlns: NS.client,
      id: randomId(),
      from: this.session.host ?? this.services.hosts.keys().next().value!,
      to: peer && peer.length < 3072 ? peer : undefined,
      version: "1.0",
      // The client's language reflected (§4.7.4), else the server's default.
      "xml:lang": this.session.lang ?? DEFAULT_LANG,
    };
  }

  /** Plain TCP that must become TLS before anything else is offered or accepted. */
  tlsRequired(): boolean {
    return !this.transport.secure && !this.services.config.c2s.allowUnencrypted;
  }

  /** The features of the stream as it stands (also sent after a SASL2 success). */
  features(): Element {
    const session = this.session;
    const features = el("stream:features");
    if (session.type === "c2s_unauthed") {
      if (this.transport.canStartTls && !this.transport.secure) {
        features.append(
          el("starttls", { xmlns: NS.tls }, this.tlsRequired() ? el("required") : undefined),
        );
      }
      // RFC 6120 §5.3.1: with TLS mandatory, offer nothing else before it.
      if (this.tlsRequired()) return features;
      features.append(...this.#auth.features());
    } else if (session.fullJid === undefined) {
      features.append(el("bind", { xmlns: NS.bind }));
    }
    const host = this.services.hosts.get(session.host!);
    for (const provide of host?.streamFeatures ?? []) features.append(provide(session));
    return features;
  }

  // ---- elements ------------------------------------------------------------

  protected override onElement(element: Element): void | Promise<void> {
    const session = this.session;
    if (session.notopen) throw new StreamError("not-authorized", "Stream not open");
    const xmlns = element.attrs.xmlns;
    const isStanza = xmlns === undefined &&
      (element.name === "message" || element.name === "presence" || element.name === "iq");
    if (isStanza && session.fullJid !== undefined) {
      session.countReceived();
      counters.countStanzaIn(element.name);
      // Returned, not tracked: the next frame waits until this stanza's
      // handling is done, so one session's stanzas are handled in order
      // (as Prosody does) even when handlers wait for storage.
      return this.services.router.fromClient(session, element);
    }
    if (session.type === "c2s_unauthed") {
      if (xmlns === NS.sasl) return this.#auth.onSasl(element);
      if (xmlns === NS.sasl2) return this.#auth.onSasl2(element);
      // XEP-0388 §2.4: "Servers MUST disconnect Clients immediately if any
      // other traffic is received" during an exchange (STARTTLS included:
      // the exchange would outlive the stream it began on). SASL1 elements
      // are still answered above, with a failure that ends the exchange.
      if (this.#auth.awaitingSasl2Response) {
        throw new StreamError("policy-violation", "Only <response/> or <abort/> during SASL2");
      }
      if (xmlns === NS.tls && element.name === "starttls") return this.#onStartTls();
    } else if (session.fullJid === undefined && isStanza && element.name === "iq") {
      const bind = element.getChild("bind", NS.bind);
      if (bind) return this.#onBind(element, bind);
    }
    // Elements from extensions (stream management, CSI, registration…).
    const host = this.services.hosts.get(session.host!)!;
    const ev: StreamElementEvent = { session, element, stream: this };
    const handled = host.events.fire("stream-element", ev);
    if (handled === true) return;
    if (handled === false) return this.#unhandled(session, element, isStanza);
    return handled.then((h) => {
      if (!h) this.#unhandled(session, element, isStanza);
    });
  }

  /**
   * No extension handled a top-level element. A method, not a closure made
   * for every element that goes to the extensions (SM's `<r/>` and `<a/>`).
   */
  #unhandled(session: Session, element: Element, isStanza: boolean): never {
    if (isStanza || session.type === "c2s_unauthed") {
      throw new StreamError("not-authorized", "Authenticate and bind a resource first");
    }
    throw new StreamError("unsupported-stanza-type", `<${element.name}/> is not supported`);
  }

  // ---- STARTTLS (RFC 6120 §5) -----------------------------------------------

  async #onStartTls(): Promise<void> {
    if (!this.transport.canStartTls || this.transport.secure) {
      this.send(el("failure", { xmlns: NS.tls }));
      this.services.sessions.destroySession(this.session);
      return;
    }
    this.session.notopen = true;
    // RFC 6120 §5.4.3.3: what the client said before TLS is forgotten, a
    // SASL exchange begun in plaintext (and its nonce) included.
    this.#auth.stop();
    try {
      await this.startTls(
        serialize(el("proceed", { xmlns: NS.tls })),
        this.services.tls.serverOptions([]),
      );
      log.debug("{ip}: TLS established ({protocol})", {
        ip: this.transport.remoteAddress,
        protocol: this.transport.tls?.protocol,
      });
    } catch (err) {
      const ip = this.transport.remoteAddress;
      brokenStreams.note(ip, ip, `TLS handshake failed: ${err}`);
      this.services.sessions.destroySession(this.session);
    }
  }

  // ---- authentication (c2s_auth.ts) ----------------------------------------

  /**
   * The `tls-server-end-point` data of the certificate this stream
   * presented (RFC 5929), for mechanisms that bind to it; undefined
   * without TLS or for a certificate RFC 5929 defines none for.
   */
  tlsServerEndPoint(): Uint8Array | undefined {
    if (!this.transport.secure || !this.transport.tls) return undefined;
    return this.services.tls.endPointFor(this.transport.tls.servername);
  }

  // ---- resource binding (RFC 6120 §7) -------------------------------------

  #onBind(iq: Element, bind: Element): void {
    const session = this.session;
    const reply = (error?: StanzaError, payload?: Element) => {
      this.send(el(
        "iq",
        { type: error ? "error" : "result", id: iq.attrs.id },
        payload,
        error?.toElement(),
      ));
    };
    if (iq.attrs.type !== "set") return reply(new StanzaError("modify", "bad-request"));
    const requested = bind.getChildText("resource")?.trim();
    let resource: string | undefined;
    if (requested) {
      resource = prepResource(requested);
      if (resource === undefined) {
        return reply(new StanzaError("modify", "bad-request", "Invalid resource"));
      }
    } else {
      resource = randomId();
    }
    const refused = this.services.sessions.bind(session, resource);
    if (refused) return reply(refused);
    this.authenticated();
    log.info("{jid} bound", { jid: session.fullJid });
    reply(undefined, el("bind", { xmlns: NS.bind }, el("jid", {}, session.fullJid!)));
  }
}
