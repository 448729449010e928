/**
 * The outgoing stream's negotiation as a state machine over the peer's
 * frames (RFC 6120 §4–§6, XEP-0220, XEP-0288): the header, features,
 * STARTTLS, SASL EXTERNAL, our own dialback result, bidi. It owns the
 * negotiation state; the stream (`NegotiationHost`) owns the connection
 * (an S2sOutLink on the stream core, which sends our header on start and
 * after each restart), the queue and what "ready" means. Throws NegotiationError when the
 * stream cannot go on; the stream turns that into a failure.
 */
import type { Config } from "../../config/schema.ts";
import type { SecureContexts } from "../../net/secure_contexts.ts";
import type { TrustAnchors } from "../cert_verify.ts";
import type { DialbackKeys } from "../dialback_key.ts";
import { NS_BIDI, NS_BIDI_FEATURE, NS_DIALBACK, replyVersion } from "../common.ts";
import { el, type Element } from "../../xml/element.ts";
import { NS } from "../../xml/namespaces.ts";
import type { S2sOutLink } from "./link.ts";
import { encodeBase64Text } from "../../util/base64.ts";
import { NegotiationError } from "./failure.ts";
import { checkSecurity, chooseAuth, dialbackRefused, offersDialback, verdictOf } from "./policy.ts";
import { logger } from "../../log.ts";

const log = logger("s2s");

/** What the negotiation needs from the stream it runs on. */
export interface NegotiationHost {
  readonly local: string;
  readonly remote: string;
  readonly services: {
    config: Config;
    tls: SecureContexts;
    anchors: TrustAnchors;
    keys: DialbackKeys;
  };
  /** The live connection. */
  link(): S2sOutLink;
  ready(): boolean;
  /** Authenticated: flush the queue, start the idle timer. */
  becomeReady(): void;
  /** The stream meets the policy: held db:verify requests may go out. */
  allowVerify(): void;
  /** The peer's answer to one of our db:verify requests. */
  verifyAnswered(id: string, verdict: "valid" | "invalid" | "error"): void;
  /** A db:result answer for a domain that joined the stream: true if it was one. */
  joinedResult(result: Element): boolean;
  /** A stanza from the peer (XEP-0288, when `bidi`); a promise: wait before the next one. */
  peerStanza(stanza: Element): void | Promise<void>;
  /** The peer closed the stream after negotiation. */
  close(): void;
}

export class OutNegotiator {
  #streamId: string | undefined;
  /** The server's header declared the dialback namespace. */
  #peerDialback = false;
  #features: Element | undefined;
  #externalTried = false;
  #saslDone = false;
  #dialbackSent = false;
  /** We sent `<bidi/>` (XEP-0288): the peer may send its stanzas back here. */
  #bidi = false;
  /** A STARTTLS handshake is under way: a connection lost now is a TLS failure. */
  #tlsStarting = false;

  constructor(readonly host: NegotiationHost) {}

  /** The peer's stream id (for dialback keys). */
  get streamId(): string {
    return this.#streamId ?? "";
  }

  get bidi(): boolean {
    return this.#bidi;
  }

  get tlsStarting(): boolean {
    return this.#tlsStarting;
  }

  /** The peer does dialback: its feature or, before 1.0, its header. */
  get peerDoesDialback(): boolean {
    return offersDialback(this.#features, this.#peerDialback);
  }

  #names() {
    return { local: this.host.local, remote: this.host.remote };
  }

  /** The peer's stream header (after each restart too). */
  onOpen(attrs: Record<string, string>): void {
    this.#streamId = attrs.id;
    this.#peerDialback = attrs["xmlns:db"] === NS_DIALBACK;
    // Pre-1.0 (no version, or one below 1.0, read as for our reply header: RFC 6120
    // §4.7.5): such a server sends no features (so no STARTTLS either): the policy
    // decides whether this unencrypted stream may be used, then dialback.
    if (replyVersion(attrs.version) !== "1.0") {
      this.#features = el("stream:features");
      this.#checkSecurity();
      this.host.allowVerify();
      if (this.#saslDone) return this.host.becomeReady();
      return this.#authenticate();
    }
  }

  /** The peer closed its stream. */
  onPeerClose(): void {
    if (!this.host.ready()) {
      throw new NegotiationError("closed", "the remote server closed the stream");
    }
    this.host.close();
  }

  onElement(e: Element): void | Promise<void> {
    const xmlns = e.attrs.xmlns;
    if (e.name === "stream:features") return this.#onFeatures(e);
    if (xmlns === NS.tls && e.name === "proceed") return this.#onProceed();
    if (xmlns === NS.tls && e.name === "failure") {
      throw new NegotiationError("tls", "the remote server refused STARTTLS (<failure/>)");
    }
    // An answer to a request we never made: only a broken peer or someone on the path sends
    // one, and taken as given it would skip STARTTLS and the policy checks, which come
    // before every request of ours.
    if (xmlns === NS.sasl && (e.name === "success" || e.name === "failure")) {
      if (!this.#externalTried || this.#saslDone) throw unasked(`SASL <${e.name}/>`);
    }
    if (xmlns === NS.sasl && e.name === "success") {
      this.#saslDone = true;
      // A new stream, our header first (the link initiates).
      this.host.link().restart();
      log.info("{local} → {remote}: authenticated by certificate (SASL EXTERNAL)", this.#names());
      return;
    }
    if (xmlns === NS.sasl && e.name === "failure") {
      log.info("{local} → {remote}: SASL EXTERNAL refused, trying dialback", this.#names());
      return this.#authenticate();
    }
    if (xmlns === NS_DIALBACK && e.name === "result") return this.#onDbResult(e);
    if (xmlns === NS_DIALBACK && e.name === "verify") {
      return this.host.verifyAnswered(e.attrs.id ?? "", verdictOf(e.attrs.type));
    }
    if (
      xmlns === undefined && (e.name === "message" || e.name === "presence" || e.name === "iq")
    ) return this.host.peerStanza(e);
    log.debug("{local} → {remote}: ignoring <{name}/> on an outgoing stream", {
      ...this.#names(),
      name: e.name,
    });
  }

  #onFeatures(features: Element): void {
    this.#features = features;
    const link = this.host.link();
    if (!link.transport.tls && features.getChild("starttls", NS.tls)) {
      link.send(el("starttls", { xmlns: NS.tls }));
      return;
    }
    this.#checkSecurity();
    this.host.allowVerify();
    // XEP-0288: asked for before SASL or dialback, once per connection.
    if (!this.#bidi && features.getChild("bidi", NS_BIDI_FEATURE)) {
      this.#bidi = true;
      link.send(el("bidi", { xmlns: NS_BIDI }));
    }
    if (this.#saslDone) return this.host.becomeReady();
    this.#authenticate();
  }

  /** The stream must meet the policy before anything goes out (policy.ts). */
  #checkSecurity(): void {
    const { config, anchors } = this.host.services;
    checkSecurity(this.host.link().transport.tls, config.s2s, anchors, this.host.remote);
  }

  #authenticate(): void {
    const link = this.host.link();
    const how = chooseAuth({
      features: this.#features!,
      peerDialback: this.#peerDialback,
      encrypted: link.transport.tls !== undefined,
      externalTried: this.#externalTried,
      allowDialback: this.host.services.config.s2s.allowDialback,
    });
    if (how === "external") {
      this.#externalTried = true;
      link.send(el(
        "auth",
        { xmlns: NS.sasl, mechanism: "EXTERNAL" },
        encodeBase64Text(this.host.local),
      ));
      return;
    }
    if (this.#dialbackSent) return;
    this.#dialbackSent = true;
    const key = this.host.services.keys.generate(
      this.host.remote,
      this.host.local,
      this.#streamId ?? "",
    );
    link.send(el("db:result", { from: this.host.local, to: this.host.remote }, key));
  }

  async #onProceed(): Promise<void> {
    const cert = this.host.services.tls.certFor(this.host.local);
    this.#tlsStarting = true;
    try {
      // The parser restarts at once (before the handshake); our new header follows it.
      await this.host.link().startTlsAsClient({
        servername: this.host.remote,
        cert: cert.certPem,
        key: cert.keyPem,
      });
    } catch (err) {
      throw new NegotiationError("tls", `TLS handshake failed: ${(err as Error)?.message ?? err}`);
    } finally {
      this.#tlsStarting = false;
    }
  }

  #onDbResult(result: Element): void {
    if (result.attrs.from !== this.host.remote) return;
    if (this.host.joinedResult(result)) return;
    if (result.attrs.to !== this.host.local || this.host.ready()) return;
    if (!this.#dialbackSent) throw unasked("dialback verdict");
    if (result.attrs.type === "valid") {
      log.info("{local} → {remote}: authenticated by dialback", this.#names());
      return this.host.becomeReady();
    }
    throw dialbackRefused(result);
  }
}

/** The peer answered something we never asked (see onElement). */
function unasked(what: string): NegotiationError {
  return new NegotiationError("closed", `the remote server sent a ${what} we never asked for`);
}
