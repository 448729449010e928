/**
 * The client-to-server stream: bytes → FrameInput (UTF-8 decoder and
 * XmlFrameParser) → this handler, which negotiates STARTTLS, SASL and resource binding
 * (RFC 6120 §4–§7) and then hands stanzas to the router. One instance per
 * connection; it owns the connection's `Session`.
 */
import type { Connection } from "../net/connection.ts";
import type { Config } from "../config/schema.ts";
import type { AuthProvider, SaslContext, SaslExchange, SaslStep } from "../auth/types.ts";
import {
  type MechanismOptions,
  offeredMechanisms,
  startExchange,
  unavailableMechanismCondition,
} from "../auth/mechanisms.ts";
import {
  accountKey,
  addressKey,
  type LoginThrottle,
  type ThrottleRefusal,
} from "../auth/login_throttle.ts";
import { OncePerWindow } from "../util/once_per_window.ts";
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
import { decodeBase64, encodeBase64 } from "../util/base64.ts";
import { BrokenStreamLog } from "./broken_streams.ts";
import {
  authenticationFeature,
  bind2Resource,
  sasl2Challenge,
  sasl2Failure,
  sasl2Success,
  userAgentId,
} from "./sasl2.ts";
import type { Bind2Inline, Sasl2InlineResult } from "../core/inline_features.ts";
import * as counters from "../metrics/counters.ts";

/**
 * Logins refused by the throttle, logged once per address (or account) per
 * minute: each attempt costs the peer a round trip, a log line would cost
 * the operator's disk.
 */
const refusedLogins = new OncePerWindow();

const log = logger("c2s");
const brokenStreams = new BrokenStreamLog(log);

/** RFC 6120 §6.4.5: a few retries, then the stream is closed. */
const MAX_AUTH_ATTEMPTS = 5;

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
  #sasl: SaslExchange | undefined;
  /** The SASL2 `<authenticate/>` being answered; undefined during SASL1 (RFC 6120). */
  #authenticate: Element | undefined;
  #mechanism = "";
  #authAttempts = 0;
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

  protected override who(): string {
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
    this.#sasl = undefined;
    this.#authenticate = undefined;
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
    this.send(this.#features());
  }

  /** The `from` of the client's last header, reflected as our `to` (RFC 6120 §4.7.2). */
  #peer: string | undefined;

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

  #tlsRequired(): boolean {
    return !this.transport.secure && !this.services.config.c2s.allowUnencrypted;
  }

  #features(): Element {
    const session = this.session;
    const features = el("stream:features");
    if (session.type === "c2s_unauthed") {
      if (this.transport.canStartTls && !this.transport.secure) {
        features.append(
          el("starttls", { xmlns: NS.tls }, this.#tlsRequired() ? el("required") : undefined),
        );
      }
      // RFC 6120 §5.3.1: with TLS mandatory, offer nothing else before it.
      if (this.#tlsRequired()) return features;
      // The list SSDP signs (#saslContext), computed once.
      const mechanisms = this.#saslContext().advertised!.mechanisms;
      features.append(
        el("mechanisms", { xmlns: NS.sasl }, ...mechanisms.map((m) => el("mechanism", {}, m))),
      );
      // XEP-0440: say which binding -PLUS means here, so clients pick one they share.
      if (mechanisms.some((m) => m.endsWith("-PLUS"))) {
        features.append(el(
          "sasl-channel-binding",
          { xmlns: NS.saslChannelBinding },
          el("channel-binding", { type: "tls-server-end-point" }),
        ));
      }
      // SASL2 (XEP-0388) beside SASL1, with the same mechanisms.
      const host = this.services.hosts.get(session.host!);
      const inline = (host?.providers.items("sasl2-inline") ?? [])
        .map((i) => i.feature(this))
        .filter((e): e is Element => e !== undefined);
      features.append(
        authenticationFeature(mechanisms, host?.providers.items("bind2-inline") ?? [], inline),
      );
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
      if (xmlns === NS.tls && element.name === "starttls") return this.#onStartTls();
      if (xmlns === NS.sasl) return this.#onSasl(element);
      if (xmlns === NS.sasl2) return this.#onSasl2(element);
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

  // ---- SASL (RFC 6120 §6) ------------------------------------------------------

  /**
   * No channel binding (no -PLUS mechanism) in this SASL profile (RFC 6120
   * §6). RFC 5802 §6 makes a server that offers -PLUS refuse the `y` flag
   * ("I could bind, but the server cannot"), which is how a client notices
   * that someone stripped -PLUS from the list. Here, `y` is also what
   * every client sends whose only binding types are tls-unique or
   * tls-exporter, which Deno cannot provide (slixmpp 1.8 does, on every
   * SCRAM login over TLS): refusing it would lock them out, and accepting
   * it beside -PLUS is exactly the undetectable downgrade the rule forbids.
   * SASL1 has no way out of that, so it offers no -PLUS and `y` is then
   * the truth. Channel binding (tls-server-end-point, still computed per
   * certificate in SecureContexts) comes back with SASL2 (XEP-0388), whose
   * clients learn the server's types from XEP-0440 and detect a stripped
   * list with XEP-0474, so refusing `y` there locks nobody out.
   */
  #saslContext(): SaslContext {
    const ctx: SaslContext = {
      host: this.session.host!,
      provider: this.services.auth,
      secure: this.transport.secure,
    };
    // XEP-0474: SCRAM signs what the features listed (the same list for
    // SASL1 and SASL2; no channel-binding types while no -PLUS is offered).
    const mechanisms = offeredMechanisms(ctx, this.#mechanismOptions());
    const channelBindings = mechanisms.some((m) => m.endsWith("-PLUS"))
      ? ["tls-server-end-point"]
      : [];
    return { ...ctx, advertised: { mechanisms, channelBindings } };
  }

  #mechanismOptions(): MechanismOptions {
    const { c2s, auth } = this.services.config;
    return {
      allowPlainWithoutTls: c2s.allowPlainWithoutTls,
      scramIterations: auth.scramIterations,
    };
  }

  /**
   * Every failure counts towards the retry limit, whatever its cause
   * (TLS missing, a throttled IP, a malformed request): otherwise one
   * connection could retry forever (RFC 6120 §6.4.5).
   */
  #saslFailure(condition: string, text?: string, cause = condition): void {
    counters.countAuth(cause);
    this.send(
      this.#authenticate ? sasl2Failure(condition, text) : el(
        "failure",
        { xmlns: NS.sasl },
        el(condition),
        text ? el("text", { "xml:lang": "en" }, text) : undefined,
      ),
    );
    this.#authenticate = undefined;
    this.#countAttempt();
  }

  async #onSasl(element: Element): Promise<void> {
    if (this.#tlsRequired()) {
      this.#saslFailure("encryption-required", "Use STARTTLS first");
      return;
    }
    const ip = this.transport.remoteAddress;
    // An exchange SASL2 started ends in SASL2 (its inline requests with it).
    const sasl2 = this.#authenticate !== undefined;
    this.#authenticate = undefined;
    switch (element.name) {
      case "auth": {
        if (this.#ipThrottled(ip)) return;
        const mechanism = element.attrs.mechanism ?? "";
        if (!this.#start(mechanism)) return;
        const text = element.text().trim();
        // RFC 6120 §6.4.2: "=" is an empty initial response, nothing is none.
        return await this.#saslStep(text === "" ? null : text);
      }
      case "response": {
        if (!this.#sasl || sasl2) {
          this.#sasl = undefined;
          this.#saslFailure("malformed-request", "No authentication in progress");
          return;
        }
        return await this.#saslStep(element.text().trim());
      }
      case "abort": {
        this.#sasl = undefined;
        this.#saslFailure("aborted");
        return;
      }
      default:
        this.#saslFailure("malformed-request");
    }
  }

  /**
   * SASL2 (XEP-0388): `<authenticate/>` carries the mechanism, the initial
   * response, the user agent and the inline requests; the exchange then
   * runs as SASL1's, in this namespace, and ends without a restart.
   */
  async #onSasl2(element: Element): Promise<void> {
    const ip = this.transport.remoteAddress;
    if (element.name === "authenticate") this.#authenticate = element;
    else if (!this.#authenticate) {
      // Only a failure in this namespace makes sense to the client.
      this.#authenticate = element;
      this.#sasl = undefined;
      return this.#saslFailure("malformed-request", "No authentication in progress");
    }
    if (this.#tlsRequired()) {
      this.#saslFailure("encryption-required", "Use STARTTLS first");
      return;
    }
    switch (element.name) {
      case "authenticate": {
        if (this.#ipThrottled(ip)) return;
        if (!this.#start(element.attrs.mechanism ?? "")) return;
        const initial = element.getChild("initial-response");
        const text = initial?.text().trim();
        // XEP-0388 §2.3: an empty element is an empty response, none is none.
        return await this.#saslStep(initial === undefined ? null : text === "" ? "=" : text!);
      }
      case "response":
        if (!this.#sasl) return this.#saslFailure("malformed-request", "No exchange in progress");
        return await this.#saslStep(element.text().trim());
      case "abort":
        this.#sasl = undefined;
        return this.#saslFailure("aborted");
      default:
        // <next/> answers a <continue/>, which this server never sends (no tasks offered).
        this.#sasl = undefined;
        return this.#saslFailure("malformed-request", "No task was offered");
    }
  }

  /** Starts `mechanism`'s exchange; false (and a failure sent) when it is not offered. */
  #start(mechanism: string): boolean {
    const ctx = this.#saslContext();
    const exchange = startExchange(mechanism, ctx, this.#mechanismOptions()) ??
      this.#moduleMechanism(mechanism, ctx);
    if (!exchange) {
      this.#saslFailure(unavailableMechanismCondition(mechanism, ctx, this.#mechanismOptions()));
      return false;
    }
    this.#sasl = exchange;
    this.#mechanism = mechanism;
    return true;
  }

  /** A SASL2-only mechanism of a module (FAST), during SASL2 only. */
  #moduleMechanism(mechanism: string, ctx: SaslContext): SaslExchange | undefined {
    const authenticate = this.#authenticate;
    if (!authenticate) return undefined;
    const host = this.services.hosts.get(this.session.host!)!;
    for (const m of host.providers.items("sasl2-mechanism")) {
      if (m.names(this).includes(mechanism)) return m.start(mechanism, ctx, authenticate, this);
    }
    return undefined;
  }

  /**
   * The `tls-server-end-point` data of the certificate this stream
   * presented (RFC 5929), for mechanisms that bind to it; undefined
   * without TLS or for a certificate RFC 5929 defines none for.
   */
  tlsServerEndPoint(): Uint8Array | undefined {
    if (!this.transport.secure || !this.transport.tls) return undefined;
    return this.services.tls.endPointFor(this.transport.tls.servername);
  }

  /** An address past its failure limit is not heard at all. */
  #ipThrottled(ip: string): boolean {
    if (!this.services.loginThrottle.ipBlocked(ip)) return false;
    const silent = refusedLogins.note("ip " + addressKey(ip));
    if (silent !== undefined) {
      log.warn(
        "{ip}: authentication refused: too many failures; {silent} refused since the " +
          "last such line; quiet for this address for {window} s",
        { ip, silent, window: refusedLogins.windowMs / 1000 },
      );
    }
    this.#saslFailure(
      "temporary-auth-failure",
      "Too many failed attempts; try again later",
      "throttled",
    );
    return true;
  }

  async #saslStep(text: string | null): Promise<void> {
    let data: Uint8Array | null = null;
    if (text !== null && text !== "=") {
      const decoded = decodeBase64(text);
      if (!decoded) {
        this.#sasl = undefined;
        return this.#saslFailure("incorrect-encoding");
      }
      data = decoded;
    } else if (text === "=") {
      data = new Uint8Array(0);
    }
    const step = await this.#sasl!.step(data);
    if (this.closed) return;
    await this.#afterStep(step);
  }

  async #afterStep(step: SaslStep): Promise<void> {
    const ip = this.transport.remoteAddress;
    const host = this.session.host!;
    switch (step.kind) {
      case "challenge":
        this.send(
          this.#authenticate
            ? sasl2Challenge(encodeBase64(step.data))
            : el("challenge", { xmlns: NS.sasl }, encodeBase64(step.data)),
        );
        return;
      case "failure": {
        this.#sasl = undefined;
        // Only a checked credential counts towards throttling: a client
        // probing mechanisms or channel-binding types guesses no password,
        // and a storage outage (temporary-auth-failure) is not the user's.
        if (step.username && step.condition !== "temporary-auth-failure") {
          const account = step.username + "@" + host;
          const refused = this.services.loginThrottle.refusal(account, ip);
          this.services.loginThrottle.failed(account, ip);
          // Past a limit a wrong password gets the same answer as a right one.
          if (refused) return this.#throttled(account, refused);
        }
        log.info("{ip}: authentication failed for {user}: {condition} ({text})", {
          ip,
          user: step.username ?? "?",
          condition: step.condition,
          text: step.text ?? "",
        });
        return this.#saslFailure(step.condition, step.text);
      }
      case "success": {
        this.#sasl = undefined;
        const account = step.username + "@" + host;
        const refused = this.services.loginThrottle.refusal(account, ip);
        if (refused) return this.#throttled(account, refused);
        this.services.loginThrottle.succeeded(account, ip);
        counters.countAuth();
        this.transport.authenticated();
        const session = this.session;
        session.type = "c2s";
        session.username = step.username;
        const authenticate = this.#authenticate;
        if (authenticate) {
          this.#authenticate = undefined;
          log.info("{account} authenticated from {ip} (SASL2)", { account, ip });
          await this.services.hosts.get(host)!.events.fire("authentication-success", { session });
          if (this.closed) return;
          return await this.#sasl2Succeeded(authenticate, step.data);
        }
        // The client's next bytes open a new stream (RFC 6120 §6.4.6).
        this.restart();
        session.notopen = true;
        this.send(el(
          "success",
          { xmlns: NS.sasl },
          step.data && step.data.length ? encodeBase64(step.data) : undefined,
        ));
        log.info("{account} authenticated from {ip}", { account, ip });
        await this.services.hosts.get(host)!.events.fire("authentication-success", { session });
        return;
      }
    }
  }

  /** A verdict withheld by the login throttle (see LoginThrottle). */
  #throttled(account: string, limit: ThrottleRefusal): void {
    const ip = this.transport.remoteAddress;
    // Keyed like the limit that refused: an account-wide refusal is logged
    // once per window however many addresses try.
    const key = limit === "account"
      ? accountKey(account)
      : limit === "ip"
      ? addressKey(ip)
      : accountKey(account) + " " + addressKey(ip);
    const silent = refusedLogins.note(limit + " " + key);
    if (silent !== undefined) {
      log.warn(
        "{account} from {ip}: authentication refused: too many failures ({limit}); " +
          "{silent} refused since the last such line; quiet for {window} s",
        { account, ip, limit, silent, window: refusedLogins.windowMs / 1000 },
      );
    }
    this.#saslFailure(
      "temporary-auth-failure",
      "Too many failed attempts; try again later",
      "throttled",
    );
  }

  #countAttempt(): void {
    if (++this.#authAttempts >= MAX_AUTH_ATTEMPTS) {
      throw new StreamError("policy-violation", "Too many failed authentication attempts");
    }
  }

  // ---- SASL2 success, inline features, Bind2 (XEP-0388, XEP-0386) ---------

  /**
   * Authenticated over SASL2: the inline requests of `<authenticate/>`
   * (SM resumption, FAST tokens…), then Bind2 with its inline enables,
   * all answered in the one `<success/>`. No stream restart (XEP-0388).
   */
  async #sasl2Succeeded(authenticate: Element, data: Uint8Array | undefined): Promise<void> {
    const host = this.services.hosts.get(this.session.host!)!;
    const extra: Element[] = [];
    const after: (() => void)[] = [];
    const handlers = [...host.providers.items("sasl2-inline")]
      .sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
    for (const handler of handlers) {
      const element = authenticate.getChildren().find((c) => c.attrs.xmlns === handler.ns);
      if (!element) continue;
      let result: Sasl2InlineResult | undefined;
      try {
        result = await handler.handle({
          session: this.session,
          element,
          authenticate,
          mechanism: this.#mechanism,
          stream: this,
        });
      } catch (err) {
        log.error("{who}: SASL2 inline {ns} failed: {err}", {
          who: this.who(),
          ns: handler.ns,
          err,
        });
      }
      if (this.closed) return;
      if (result?.element) extra.push(result.element);
      if (result?.after) after.push(result.after);
    }
    // A resumed session (SM) is bound already: Bind2 is for new sessions only.
    const session = this.session;
    const bind = authenticate.getChild("bind", NS.bind2);
    if (bind && session.fullJid === undefined) {
      const bound = this.#bind2(bind, userAgentId(authenticate));
      if (bound) extra.push(bound);
    }
    this.send(sasl2Success(
      data && data.length ? encodeBase64(data) : undefined,
      session.fullJid ?? session.bareJid!,
      extra,
    ));
    // XEP-0388 §2.6: "immediately followed by a <features> element containing the
    // applicable stream features of the newly authenticated stream" (no restart).
    // Clients such as xmpp.js look for <sm/> and <csi/> there.
    if (this.closed) return;
    this.send(this.#features());
    for (const fn of after) fn();
  }

  /** Bind2: bind the derived resource and run the inline enables; the `<bound/>` reply. */
  #bind2(bind: Element, userAgentId: string | undefined): Element | undefined {
    const session = this.session;
    const resource = bind2Resource(bind.getChildText("tag"), userAgentId);
    const refused = this.services.sessions.bind(session, resource);
    if (refused) {
      // The client learns it from the bare authorization identifier and may bind itself.
      log.info("{who}: Bind2 refused: {err}", { who: this.who(), err: refused.message });
      return undefined;
    }
    this.authenticated();
    log.info("{jid} bound (Bind2)", { jid: session.fullJid });
    const host = this.services.hosts.get(session.host!)!;
    const inline = host.providers.items("bind2-inline");
    const results: Element[] = [];
    // One request per feature: a client repeating a child (a thousand SM
    // enables) gets the first one handled, not an answer for each.
    const handled = new Set<Bind2Inline>();
    for (const child of bind.getChildren()) {
      const handler = inline.find((i) => i.ns === child.attrs.xmlns);
      if (!handler || handled.has(handler)) continue;
      handled.add(handler);
      const result = handler.handle(session, child, this);
      if (result) results.push(result);
    }
    return el("bound", { xmlns: NS.bind2 }, ...results);
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
