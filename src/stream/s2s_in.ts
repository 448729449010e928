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
 * Both dialback roles live in src/s2s/in/dialback.ts (DialbackReceiver);
 * frame wiring, header, close sequence, STARTTLS and the timers are the
 * stream core's (src/stream/core.ts).
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
} from "../s2s/common.ts";
import type { DialbackVerdict } from "../s2s/common.ts";
import { el, type Element, serialize } from "../xml/element.ts";
import { NS } from "../xml/namespaces.ts";
import { StreamCore } from "./core.ts";
import type { StreamOpenAttrs, StreamTransport } from "./transport.ts";
import { XmlStreamTransport } from "./xml_stream.ts";
import { checkStreamRoot } from "./stream_root.ts";
import { serverTransportLimits } from "./limits.ts";
import { decodeBase64Text } from "../util/base64.ts";
import { parseJid, prepDomain } from "../jid.ts";
import { StreamError } from "../core/errors.ts";
import { logger } from "../log.ts";
import { randomId } from "../util/random.ts";
import { BrokenStreamLog } from "./broken_streams.ts";
import { DialbackReceiver } from "../s2s/in/dialback.ts";

const log = logger("s2s");
/** RFC 6120 §6.4.5: failed SASL attempts on one stream before it is closed (as c2s). */
const MAX_SASL_ATTEMPTS = 5;
const brokenStreams = new BrokenStreamLog(log);

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
  incoming: Set<IncomingS2sLink>;
  /** XEP-0288: `route` may carry stanzas from hosted `local` to `remote`. */
  addBidiRoute(local: string, remote: string, route: BidiRoute): void;
  removeBidiRoutes(route: BidiRoute): void;
}

/** A live incoming stream as the manager keeps it: closable, and its authenticated domains. */
export interface IncomingS2sLink {
  close(error?: StreamError): void;
  readonly remoteDomains: readonly string[];
}

/** An incoming stream made bidirectional: stanzas can go back over it. */
export interface BidiRoute {
  readonly closed: boolean;
  send(stanza: Element): void;
}

export function handleS2sInConnection(conn: Connection, services: S2sInServices): void {
  new S2sInStream(new XmlStreamTransport(conn), services).start();
}

class S2sInStream extends StreamCore {
  /** Links carry many users' traffic: a larger share of stanzas in the works. */
  #inFlight = new InFlight(4 * MAX_STANZAS_IN_FLIGHT);
  #open = false;
  /** The version our header answers with (RFC 6120 §4.7.5); null: none. */
  #version: string | null = "1.0";
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
  /** The peer sent `<bidi/>` (XEP-0288): it takes our stanzas on this stream too. */
  #bidi = false;
  /** The peer's certificate chain with its verifier (see #certFor). */
  #chainCheck:
    | {
      chain: Uint8Array[] | undefined;
      anchors: TrustAnchors;
      verify: (domain: string) => { ok: boolean; reason?: string };
    }
    | undefined;
  /** SASL attempts refused so far (MAX_SASL_ATTEMPTS). */
  #saslFailures = 0;

  /** The remote domains this stream has authenticated so far (status page). */
  get remoteDomains(): string[] {
    const out = new Set<string>();
    if (this.#saslDomain !== undefined) out.add(this.#saslDomain);
    for (const pair of this.#pairs) out.add(pair.slice(0, pair.indexOf(" ")));
    return [...out];
  }

  constructor(transport: StreamTransport, readonly services: S2sInServices) {
    const { config } = services;
    super(transport, {
      log,
      broken: brokenStreams,
      limits: serverTransportLimits(config),
      // s2s.authTimeoutSeconds, as clients and components have theirs: a stream that never
      // proves a domain must not hold a connection for the whole idle timeout. Each
      // db:verify answered re-arms it (keyChecked), so a stream the peer uses only to check
      // keys (authoritative-server role) stays while it is used.
      authTimeoutMs: config.s2s.authTimeoutSeconds * 1000,
      authTimeoutText: "No domain authenticated in time",
    });
    this.#dialback = new DialbackReceiver({
      write: (data) => transport.send(data),
      peerName: () => this.who(),
      streamId: () => this.#streamId,
      closed: () => this.closed,
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
        if (!this.#authenticated()) this.armAuth();
      },
      onError: (err) => this.#detachedError(err),
    });
  }

  override start(): void {
    this.services.incoming.add(this);
    super.start();
    // Not idle while a check of the peer's dialback key waits for its verdict:
    // closing under it would fail a stream the peer is still setting up.
    this.watchIdle(this.services.config.s2s.idleTimeoutSeconds * 1000, () => {
      log.debug("{peer}: incoming stream idle, closing", { peer: this.who() });
      this.close();
    }, () => this.#dialback.pending !== 0);
  }

  /** XEP-0288: our stanza to the peer, over its own stream. */
  override send(stanza: Element | string): void {
    if (this.closed) return;
    this.touch();
    super.send(stanza);
  }

  /**
   * Offer this stream for our stanzas, only for what the peer proved
   * (XEP-0288 §2.2): SASL, the stream's `to` → the peer's domain; dialback,
   * the inverse of each verified pair. Called once the stream is open (after
   * a SASL restart, the new header must go out before any stanza).
   */
  #offerRoutes(): void {
    if (!this.#bidi || !this.#open || this.closed) return;
    if (this.#saslDomain !== undefined && this.#local !== undefined) {
      this.services.addBidiRoute(this.#local, this.#saslDomain, this);
    }
    for (const pair of this.#pairs) {
      const [remote, local] = pair.split(" ");
      this.services.addBidiRoute(local, remote, this);
    }
  }

  protected override who(): string {
    return this.#peer ?? this.transport.remoteAddress;
  }

  #authenticated(): boolean {
    return this.#saslDomain !== undefined || this.#pairs.size > 0;
  }

  /** Every stream error we end the stream with is a broken stream worth a (rate-limited) line. */
  override fail(error: StreamError): void {
    if (this.closed) return;
    const what = `closing incoming stream: ${error.condition} (${error.text ?? ""})`;
    brokenStreams.note(this.transport.remoteAddress, this.who(), what);
    super.fail(error);
  }

  /** An error from a dialback check that finished after its frame was handled. */
  #detachedError(err: unknown): void {
    if (err instanceof StreamError) return this.fail(err);
    if (this.closed) return;
    log.error("{peer}: internal error: {err}", { peer: this.who(), err });
    this.fail(new StreamError("internal-server-error"));
  }

  protected override onTransportClose(error?: Error): void {
    if (error) log.debug("{ip}: connection error: {err}", { ip: this.who(), err: error });
    this.close();
  }

  // ---- stream header (RFC 6120 §4.7) --------------------------------------

  protected override onOpen(attrs: Record<string, string>, name: string, ns: string): void {
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
    this.sendHeader();
    // RFC 6120 §13.7.2.1 leaves acceptance of unverifiable certificates to policy.
    if (this.transport.tls && config.s2s.requireValidCertificates) {
      const verdict = this.#certFor(from);
      if (!verdict.ok) {
        log.warn(
          "{peer}: refusing incoming stream: {reason} (requireValidCertificates is on; " +
            "the peer needs a CA-issued certificate for its domain, or add its CA to s2s.caFile)",
          { peer: from ?? this.transport.remoteAddress, reason: verdict.reason },
        );
        throw new StreamError(
          "policy-violation",
          `Certificate not valid for ${from ?? "your domain"}: ${verdict.reason}`,
        );
      }
    }
    // Pre-1.0 peers (XEP-0220 §2.1) get no features: dialback goes straight on.
    if (this.#version === "1.0") this.send(this.#features());
    this.#offerRoutes();
  }

  protected override headerAttrs(): StreamOpenAttrs {
    this.#streamId = randomId();
    return {
      xmlns: NS.server,
      "xmlns:db": NS_DIALBACK,
      id: this.#streamId,
      from: this.#local ?? this.services.hosts.keys().next().value,
      to: this.#peer,
      version: this.#version ?? undefined,
    };
  }

  #certFor(domain: string | undefined): { ok: boolean; reason?: string } {
    const tls = this.transport.tls;
    if (!tls) return { ok: false, reason: "no TLS" };
    if (domain === undefined) return { ok: false, reason: "the stream header names no domain" };
    // The chain is the TLS session's: its path is searched once, whatever the peer asks.
    const { anchors } = this.services;
    let check = this.#chainCheck;
    if (check === undefined || check.chain !== tls.peerChain || check.anchors !== anchors) {
      check = { chain: tls.peerChain, anchors, verify: anchors.verifier(tls.peerChain) };
      this.#chainCheck = check;
    }
    return check.verify(domain);
  }

  #tlsRequired(): boolean {
    return !this.transport.tls && this.services.config.s2s.requireEncryption;
  }

  #dialbackAllowed(): boolean {
    const s2s = this.services.config.s2s;
    return s2s.allowDialback && !s2s.requireValidCertificates;
  }

  #features(): Element {
    const features = el("stream:features");
    if (!this.transport.tls) {
      features.append(
        el("starttls", { xmlns: NS.tls }, this.#tlsRequired() ? el("required") : undefined),
      );
    }
    if (this.#tlsRequired()) return features;
    const ours = this.#peer !== undefined && this.services.isLocalDomain(this.#peer);
    if (this.#saslDomain === undefined && !ours && this.#certFor(this.#peer).ok) {
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

  protected override onElement(element: Element): void | Promise<void> {
    if (!this.#open) throw new StreamError("not-authorized", "Stream not open");
    const xmlns = element.attrs.xmlns;
    if (
      xmlns === undefined &&
      (element.name === "message" || element.name === "presence" || element.name === "iq")
    ) {
      return this.#onStanza(element);
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
        peer: this.who(),
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
    if (!this.transport.canStartTls) {
      this.send(el("failure", { xmlns: NS.tls }));
      return this.close();
    }
    this.#open = false;
    // RFC 6120 §5.4.3.3: what the cleartext stream said is forgotten; anyone on the path
    // could have written it. A `<bidi/>` from it would send our stanzas back on this
    // stream to a peer that may never have asked; the new header names the peer again.
    this.#bidi = false;
    this.#peer = undefined;
    try {
      await this.startTls(serialize(el("proceed", { xmlns: NS.tls })), {
        ...this.services.tls.serverOptions([]),
        requestCert: true,
      });
    } catch (err) {
      brokenStreams.note(this.transport.remoteAddress, this.who(), `TLS handshake failed: ${err}`);
      this.close();
    }
  }

  // ---- SASL EXTERNAL (XEP-0178) ------------------------------------------------

  #onSaslAuth(auth: Element): void {
    const fail = (condition: string, why: string) => {
      log.info("{peer}: SASL EXTERNAL refused: {why}", { peer: this.who(), why });
      // RFC 6120 §6.4.5: a few retries, then the stream ends; each attempt may cost a
      // certificate path search, which a peer could otherwise ask for without end.
      if (++this.#saslFailures >= MAX_SASL_ATTEMPTS) {
        throw new StreamError("policy-violation", "Too many failed authentication attempts");
      }
      this.send(el("failure", { xmlns: NS.sasl }, el(condition)));
    };
    if (!this.transport.tls) return fail("encryption-required", "no TLS");
    if (auth.attrs.mechanism !== "EXTERNAL") return fail("invalid-mechanism", "not EXTERNAL");
    if (this.#saslDomain !== undefined) return fail("not-authorized", "already authenticated");
    const text = auth.text().trim();
    const authzid = text === "" || text === "=" ? this.#peer : decodeBase64Text(text);
    const domain = authzid === undefined ? undefined : prepDomain(authzid);
    if (domain === undefined) return fail("invalid-authzid", "no domain given");
    // Ours (hosted or a component's): no other server speaks for it, whatever certificate
    // it holds (a wildcard shared across machines would otherwise let it pose as our users).
    if (this.services.isLocalDomain(domain)) {
      return fail("not-authorized", `${domain} is one of our own domains`);
    }
    if (this.#peer !== undefined && domain !== this.#peer) {
      return fail("invalid-authzid", `${domain} is not the stream's ${this.#peer}`);
    }
    const verdict = this.#certFor(domain);
    if (!verdict.ok) return fail("not-authorized", verdict.reason ?? "certificate");
    this.#saslDomain = domain;
    this.authenticated();
    this.transport.authenticated();
    this.#peer = domain;
    this.restart();
    this.#open = false;
    this.send(el("success", { xmlns: NS.sasl }));
    log.info("{peer} authenticated by certificate (SASL EXTERNAL)", { peer: domain });
  }

  // ---- dialback (XEP-0220), receiving-server role --------------------------------

  /** A pair proven by dialback (or a certificate, on a db:result): see DialbackReceiver. */
  #proven(from: string, to: string, how: "certificate" | "dialback"): void {
    this.#pairs.add(from + " " + to);
    this.authenticated();
    this.transport.authenticated();
    if (how === "dialback") this.#peer ??= from;
    const names = { peer: from, local: to };
    if (how === "dialback") log.info("{peer} authenticated for {local} by dialback", names);
    else log.info("{peer} authenticated for {local} by certificate (dialback)", names);
  }

  // ---- closing --------------------------------------------------------------------

  override close(error?: StreamError): void {
    if (this.closed) return;
    super.close(error);
    this.#finish();
  }

  #finish(): void {
    this.services.incoming.delete(this);
    this.services.removeBidiRoutes(this);
  }
}
