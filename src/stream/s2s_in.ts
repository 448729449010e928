/**
 * An incoming server-to-server stream (RFC 6120, `jabber:server`): header
 * checks, STARTTLS (the peer's certificate is requested), then the peer
 * proves its domain by SASL EXTERNAL (XEP-0178, when its certificate
 * validates) or Server Dialback (XEP-0220, one (from, to) pair per
 * `<db:result/>`, several on one stream: piggybacking). This stream also
 * answers `<db:verify/>` for keys this server generated (the
 * authoritative-server role). Stanzas are accepted only from an
 * authenticated domain to a hosted one (or an external component's), then
 * go to `router.fromPeer`.
 * When the peer asks for it (`<bidi/>`, XEP-0288), the stream also carries
 * this server's stanzas back, for the pairs the peer authenticated.
 * Both dialback roles live in src/s2s/in/dialback.ts (DialbackReceiver).
 */
import { InFlight, MAX_STANZAS_IN_FLIGHT } from "./in_flight.ts";
import type { Connection } from "../net/connection.ts";
import type { Config } from "../config/schema.ts";
import type { Host } from "../core/host.ts";
import type { Router } from "../core/router.ts";
import type { SecureContexts } from "../net/secure_contexts.ts";
import type { TrustAnchors } from "../s2s/cert_verify.ts";
import type { DialbackKeys } from "../s2s/dialback_key.ts";
import {
  NS_BIDI,
  NS_BIDI_FEATURE,
  NS_DIALBACK,
  NS_DIALBACK_FEATURE,
  replyVersion,
  streamHeader,
} from "../s2s/common.ts";
import { el, type Element, serialize } from "../xml/element.ts";
import { NS } from "../xml/namespaces.ts";
import type { Frame } from "../xml/parser.ts";
import { FrameInput } from "./frame_input.ts";
import { checkStreamRoot } from "./stream_root.ts";
import { parserLimits, serverLimits } from "./limits.ts";
import { decodeBase64Text } from "../util/base64.ts";
import { parseJid, prepDomain } from "../jid.ts";
import { StreamError } from "../core/errors.ts";
import { logger } from "../log.ts";
import { randomId } from "../util/random.ts";
import { BrokenStreamLog } from "./broken_streams.ts";
import { DialbackReceiver } from "../s2s/in/dialback.ts";

const log = logger("s2s");
const brokenStreams = new BrokenStreamLog(log);

/** Outcome of asking the originating domain's server about a dialback key. */
export type { DialbackVerdict } from "../s2s/common.ts";
import type { DialbackVerdict } from "../s2s/common.ts";

export interface S2sInServices {
  config: Config;
  hosts: Map<string, Host>;
  router: Router;
  tls: SecureContexts;
  anchors: TrustAnchors;
  keys: DialbackKeys;
  /**
   * A domain this server answers for over s2s: a hosted one or an external
   * component's (stream `to`, dialback `to`, stanza `to`).
   */
  isLocalDomain(domain: string): boolean;
  /**
   * Receiving-server role: ask `originating`'s server whether `key` is its.
   * Undefined: too many checks are in flight over all streams
   * (s2s.maxPendingDialbackChecks); none was started.
   */
  verifyDialback(
    receiving: string,
    originating: string,
    streamId: string,
    key: string,
  ): Promise<DialbackVerdict> | undefined;
  /** Live incoming streams, closed at shutdown. */
  incoming: Set<{ close(error?: StreamError): void }>;
  /** XEP-0288: `route` may carry stanzas from hosted `local` to `remote`. */
  addBidiRoute(local: string, remote: string, route: BidiRoute): void;
  removeBidiRoutes(route: BidiRoute): void;
}

/** An incoming stream made bidirectional: stanzas can go back over it. */
export interface BidiRoute {
  readonly closed: boolean;
  send(stanza: Element): void;
}

export function handleS2sInConnection(conn: Connection, services: S2sInServices): void {
  new S2sInStream(conn, services).start();
}

class S2sInStream {
  /** Links carry many users' traffic: a larger share of stanzas in the works. */
  #inFlight = new InFlight(4 * MAX_STANZAS_IN_FLIGHT);
  #input: FrameInput;
  #open = false;
  #headerSent = false;
  /** The version our header answers with (RFC 6120 §4.7.5); null: none. */
  #version: string | null = "1.0";
  #closed = false;
  #streamId = "";
  /** Local domain (hosted or a component's) named by the header's `to`. */
  #local: string | undefined;
  /** The peer's domain from the header's `from`, if given. */
  #peer: string | undefined;
  /** Domain proven by SASL EXTERNAL: may send to any hosted domain. */
  #saslDomain: string | undefined;
  /** "remote local" pairs proven by dialback. */
  #pairs = new Set<string>();
  /** db:result and db:verify from the peer (DialbackReceiver). */
  #dialback: DialbackReceiver;
  #lastActivity = Date.now();
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * Closes the stream if no domain authenticates in time (whitespace keeps only idleness
   * away); each db:verify answered re-arms it, so a stream the peer uses only to check
   * keys (authoritative-server role) stays while it is used.
   */
  #authTimer: ReturnType<typeof setTimeout> | undefined;
  /** The peer sent `<bidi/>` (XEP-0288): it takes our stanzas on this stream too. */
  #bidi = false;

  constructor(readonly conn: Connection, readonly services: S2sInServices) {
    this.#input = new FrameInput(
      (frame) => this.#handleFrame(frame),
      parserLimits(services.config.s2s),
      (full) => full ? conn.pause() : conn.resume(),
      (err) => this.#onError(err),
    );
    this.#dialback = new DialbackReceiver({
      write: (data) => conn.write(data),
      streamId: () => this.#streamId,
      closed: () => this.#closed,
      pairs: this.#pairs,
      isLocalDomain: (domain) => services.isLocalDomain(domain),
      verifyDialback: (receiving, originating, streamId, key) =>
        services.verifyDialback(receiving, originating, streamId, key),
      keys: services.keys,
      tlsRequired: () => this.#tlsRequired(),
      certValidFor: (domain) => this.#certFor(domain).ok,
      dialbackAllowed: () => this.#dialbackAllowed(),
      proven: (from, to, how) => this.#proven(from, to, how),
      offerRoutes: () => this.#offerRoutes(),
      // A peer may keep this stream only for checking keys: while it does, the
      // authentication deadline must not cut it off with a request in flight.
      keyChecked: () => {
        if (!this.#authenticated()) this.#armAuth();
      },
      onError: (err) => this.#onError(err),
    });
  }

  start(): void {
    this.services.incoming.add(this);
    this.#armIdle();
    this.#armAuth();
    this.conn.start({
      onData: (chunk) => {
        this.#lastActivity = Date.now();
        this.#input.push(chunk);
      },
      onClose: (error) => {
        if (error) log.debug("{ip}: connection error: {err}", { ip: this.#who(), err: error });
        this.#finish();
      },
      // Called from inside a write: close a moment later, outside the sender's loop.
      onOverflow: () => {
        log.warn("{who}: not reading its stream; closing", { who: this.#who() });
        queueMicrotask(() =>
          this.close(new StreamError("resource-constraint", "Too much output waiting"))
        );
      },
    }, serverLimits(this.services.config));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** XEP-0288: our stanza to the peer, over its own stream. */
  send(stanza: Element): void {
    if (this.#closed) return;
    this.#lastActivity = Date.now();
    this.conn.write(serialize(stanza));
  }

  /**
   * Offer this stream for our stanzas, only for what the peer proved
   * (XEP-0288 §2.2): SASL, the stream's `to` → the peer's domain; dialback,
   * the inverse of each verified pair. Called once the stream is open (after
   * a SASL restart, the new header must go out before any stanza).
   */
  #offerRoutes(): void {
    if (!this.#bidi || !this.#open || this.#closed) return;
    if (this.#saslDomain !== undefined && this.#local !== undefined) {
      this.services.addBidiRoute(this.#local, this.#saslDomain, this);
    }
    for (const pair of this.#pairs) {
      const [remote, local] = pair.split(" ");
      this.services.addBidiRoute(local, remote, this);
    }
  }

  #who(): string {
    return this.#peer ?? this.conn.remoteAddress;
  }

  #authenticated(): boolean {
    return this.#saslDomain !== undefined || this.#pairs.size > 0;
  }

  /**
   * s2s.authTimeoutSeconds, as clients and components have theirs: a stream that never proves a
   * domain must not hold a connection for the whole idle timeout.
   */
  #armAuth(): void {
    clearTimeout(this.#authTimer);
    this.#authTimer = setTimeout(() => {
      if (this.#authenticated()) return;
      log.info("{peer}: incoming stream not authenticated in time, closing", {
        peer: this.#who(),
      });
      this.close(new StreamError("connection-timeout", "No domain authenticated in time"));
    }, this.services.config.s2s.authTimeoutSeconds * 1000);
  }

  #armIdle(): void {
    const idleMs = this.services.config.s2s.idleTimeoutSeconds * 1000;
    const due = this.#lastActivity + idleMs - Date.now();
    this.#idleTimer = setTimeout(() => {
      if (Date.now() - this.#lastActivity >= idleMs) {
        log.debug("{peer}: incoming stream idle, closing", { peer: this.#who() });
        this.close();
      } else this.#armIdle();
    }, Math.max(due, 1000));
  }

  #onError(err: unknown): void {
    if (err instanceof StreamError) {
      const what = `closing incoming stream: ${err.condition} (${err.text ?? ""})`;
      brokenStreams.note(this.conn.remoteAddress, this.#who(), what);
      return this.close(err);
    }
    log.error("{peer}: internal error: {err}", { peer: this.#who(), err });
    this.close(new StreamError("internal-server-error"));
  }

  #handleFrame(frame: Frame): void | Promise<void> {
    switch (frame.kind) {
      case "open":
        return this.#onStreamOpen(frame.name, frame.ns, frame.attrs);
      case "stanza":
        return this.#onElement(frame.element);
      case "close":
        return this.close();
      case "error":
        throw new StreamError(frame.condition, frame.text);
    }
  }

  // ---- stream header (RFC 6120 §4.7) --------------------------------------

  #onStreamOpen(name: string, ns: string, attrs: Record<string, string>): void {
    const { config } = this.services;
    const to = attrs.to === undefined ? undefined : prepDomain(attrs.to);
    const local = to !== undefined && this.services.isLocalDomain(to) ? to : undefined;
    const from = attrs.from === undefined ? undefined : prepDomain(attrs.from);
    if (local !== undefined) this.#local = local;
    if (from !== undefined) this.#peer = from;
    this.#version = replyVersion(attrs.version);
    checkStreamRoot(name, ns, attrs.xmlns, NS.server);
    if (local === undefined) {
      throw new StreamError("host-unknown", "This server does not serve " + (attrs.to ?? "?"));
    }
    this.#open = true;
    this.#sendHeader();
    // RFC 6120 §13.7.2.1 leaves acceptance of unverifiable certificates to policy.
    if (this.conn.tls && config.s2s.requireValidCertificates) {
      const verdict = this.#certFor(from);
      if (!verdict.ok) {
        log.warn(
          "{peer}: refusing incoming stream: {reason} (requireValidCertificates is on; " +
            "the peer needs a CA-issued certificate for its domain, or add its CA to s2s.caFile)",
          { peer: from ?? this.conn.remoteAddress, reason: verdict.reason },
        );
        throw new StreamError(
          "policy-violation",
          `Certificate not valid for ${from ?? "your domain"}: ${verdict.reason}`,
        );
      }
    }
    // Pre-1.0 peers (XEP-0220 §2.1) get no features: dialback goes straight on.
    if (this.#version === "1.0") this.conn.write(serialize(this.#features()));
    this.#offerRoutes();
  }

  #sendHeader(): void {
    if (this.#headerSent) return;
    this.#headerSent = true;
    this.#streamId = randomId();
    this.conn.write(streamHeader({
      id: this.#streamId,
      from: this.#local ?? this.services.hosts.keys().next().value,
      to: this.#peer,
      version: this.#version,
    }));
  }

  #certFor(domain: string | undefined): { ok: boolean; reason?: string } {
    if (!this.conn.tls) return { ok: false, reason: "no TLS" };
    if (domain === undefined) return { ok: false, reason: "the stream header names no domain" };
    return this.services.anchors.verify(this.conn.tls.peerChain, domain);
  }

  #tlsRequired(): boolean {
    return !this.conn.tls && this.services.config.s2s.requireEncryption;
  }

  #dialbackAllowed(): boolean {
    const s2s = this.services.config.s2s;
    return s2s.allowDialback && !s2s.requireValidCertificates;
  }

  #features(): Element {
    const features = el("stream:features");
    if (!this.conn.tls) {
      features.append(
        el("starttls", { xmlns: NS.tls }, this.#tlsRequired() ? el("required") : undefined),
      );
    }
    if (this.#tlsRequired()) return features;
    if (this.#saslDomain === undefined && this.#certFor(this.#peer).ok) {
      features.append(
        el("mechanisms", { xmlns: NS.sasl }, el("mechanism", {}, "EXTERNAL")),
      );
    }
    // Under requireValidCertificates, only certificate-backed dialback (XEP-0344) is left.
    if (this.#dialbackAllowed() || this.#certFor(this.#peer).ok) {
      features.append(el("dialback", { xmlns: NS_DIALBACK_FEATURE }, el("errors")));
    }
    if (!this.#bidi) features.append(el("bidi", { xmlns: NS_BIDI_FEATURE }));
    return features;
  }

  // ---- elements --------------------------------------------------------------

  #onElement(element: Element): void | Promise<void> {
    if (!this.#open) throw new StreamError("not-authorized", "Stream not open");
    const xmlns = element.attrs.xmlns;
    if (
      xmlns === undefined &&
      (element.name === "message" || element.name === "presence" || element.name === "iq")
    ) {
      return this.#onStanza(element);
    }
    if (element.name === "stream:error") {
      log.info("{peer}: peer sent a stream error: {err}", {
        peer: this.#who(),
        err: serialize(element),
      });
      return this.close();
    }
    if (xmlns === NS.tls && element.name === "starttls") return this.#onStartTls();
    if (xmlns === NS.sasl && element.name === "auth") return this.#onSaslAuth(element);
    if (xmlns === NS_DIALBACK && element.name === "result") return this.#dialback.onResult(element);
    if (xmlns === NS_DIALBACK && element.name === "verify") return this.#dialback.onVerify(element);
    if (xmlns === NS_BIDI && element.name === "bidi") {
      this.#bidi = true;
      return this.#offerRoutes();
    }
    throw new StreamError("unsupported-stanza-type", `<${element.name}/> is not supported`);
  }

  /** RFC 6120 §4.9.3: addressing checked against what the stream authenticated. */
  #onStanza(stanza: Element): void | Promise<void> {
    if (this.#saslDomain === undefined && this.#pairs.size === 0) {
      throw new StreamError("not-authorized", "Authenticate (SASL EXTERNAL or dialback) first");
    }
    const from = stanza.attrs.from === undefined ? undefined : parseJid(stanza.attrs.from);
    const to = stanza.attrs.to === undefined ? undefined : parseJid(stanza.attrs.to);
    if (!from || !to) {
      throw new StreamError("improper-addressing", "Stanzas need valid from and to addresses");
    }
    // The exact pair is the usual case; the scan over all pairs only tells
    // the two refusals apart.
    const allowed = from.domain === this.#saslDomain ||
      this.#pairs.has(from.domain + " " + to.domain);
    if (!allowed && ![...this.#pairs].some((p) => p.startsWith(from.domain + " "))) {
      log.warn("{peer}: stanza from unauthenticated domain {domain}", {
        peer: this.#who(),
        domain: from.domain,
      });
      throw new StreamError("invalid-from", `${from.domain} was not authenticated on this stream`);
    }
    if (!this.services.isLocalDomain(to.domain)) {
      throw new StreamError("host-unknown", `This server does not serve ${to.domain}`);
    }
    if (!allowed) {
      throw new StreamError(
        "not-authorized",
        `${from.domain} was not authenticated for ${to.domain}; send <db:result/> for it first`,
      );
    }
    const accepted = this.services.router.fromPeer(stanza);
    if (!accepted) throw new StreamError("improper-addressing", "Invalid to address");
    if (accepted !== true) return this.#inFlight.track(accepted);
  }

  // ---- STARTTLS ----------------------------------------------------------------

  async #onStartTls(): Promise<void> {
    if (this.conn.tls) {
      this.conn.write(serialize(el("failure", { xmlns: NS.tls })));
      return this.close();
    }
    this.#input.resetForTls();
    this.#open = false;
    this.#headerSent = false;
    try {
      await this.conn.startTls(serialize(el("proceed", { xmlns: NS.tls })), {
        ...this.services.tls.serverOptions([]),
        requestCert: true,
      });
    } catch (err) {
      brokenStreams.note(this.conn.remoteAddress, this.#who(), `TLS handshake failed: ${err}`);
      this.close();
    }
  }

  // ---- SASL EXTERNAL (XEP-0178) ------------------------------------------------

  #onSaslAuth(auth: Element): void {
    const fail = (condition: string, why: string) => {
      log.info("{peer}: SASL EXTERNAL refused: {why}", { peer: this.#who(), why });
      this.conn.write(serialize(el("failure", { xmlns: NS.sasl }, el(condition))));
    };
    if (!this.conn.tls) return fail("encryption-required", "no TLS");
    if (auth.attrs.mechanism !== "EXTERNAL") return fail("invalid-mechanism", "not EXTERNAL");
    if (this.#saslDomain !== undefined) return fail("not-authorized", "already authenticated");
    const text = auth.text().trim();
    const authzid = text === "" || text === "=" ? this.#peer : decodeBase64Text(text);
    const domain = authzid === undefined ? undefined : prepDomain(authzid);
    if (domain === undefined) return fail("invalid-authzid", "no domain given");
    if (this.#peer !== undefined && domain !== this.#peer) {
      return fail("invalid-authzid", `${domain} is not the stream's ${this.#peer}`);
    }
    const verdict = this.#certFor(domain);
    if (!verdict.ok) return fail("not-authorized", verdict.reason ?? "certificate");
    this.#saslDomain = domain;
    clearTimeout(this.#authTimer);
    this.conn.authenticated();
    this.#peer = domain;
    this.#input.reset();
    this.#open = false;
    this.#headerSent = false;
    this.conn.write(serialize(el("success", { xmlns: NS.sasl })));
    log.info("{peer} authenticated by certificate (SASL EXTERNAL)", { peer: domain });
  }

  // ---- dialback (XEP-0220), receiving-server role --------------------------------

  /** A pair proven by dialback (or a certificate, on a db:result): see DialbackReceiver. */
  #proven(from: string, to: string, how: "certificate" | "dialback"): void {
    this.#pairs.add(from + " " + to);
    clearTimeout(this.#authTimer);
    this.conn.authenticated();
    if (how === "dialback") this.#peer ??= from;
    const names = { peer: from, local: to };
    if (how === "dialback") log.info("{peer} authenticated for {local} by dialback", names);
    else log.info("{peer} authenticated for {local} by certificate (dialback)", names);
  }

  // ---- closing --------------------------------------------------------------------

  close(error?: StreamError): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.conn.closed) {
      this.#sendHeader();
      if (error) this.conn.write(serialize(error.toElement()));
      this.conn.write("</stream:stream>");
      this.conn.close();
    }
    this.#finish();
  }

  #finish(): void {
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#authTimer);
    this.#input.stop();
    this.services.incoming.delete(this);
    this.services.removeBidiRoutes(this);
  }
}
