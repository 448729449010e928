/**
 * An outgoing server-to-server stream for one (local domain, remote
 * domain) pair: resolve, connect (STARTTLS or direct TLS, presenting the
 * local domain's certificate), authenticate with SASL EXTERNAL when the
 * peer offers it, else dialback (XEP-0220 `<db:result/>`). Stanzas wait
 * in a queue until then and go out in order; if the stream cannot be
 * made, the owner bounces them. The same stream carries `<db:verify/>`
 * requests when this server checks a key the remote domain sent us
 * (receiving-server role): those need no authentication. When the peer
 * offers XEP-0288, we send `<bidi/>` before authenticating, and then take
 * the peer's stanzas from its domain to ours over this stream too.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import type { Config } from "../config/schema.ts";
import { type Connection, SocketConnection, tlsStateOf } from "../net/connection.ts";
import type { SecureContexts } from "../net/secure_contexts.ts";
import type { TrustAnchors } from "../s2s/cert_verify.ts";
import type { DialbackKeys } from "../s2s/dialback_key.ts";
import { resolveTargets, type Target } from "../s2s/resolve.ts";
import {
  NS_BIDI,
  NS_BIDI_FEATURE,
  NS_DIALBACK,
  NS_DIALBACK_FEATURE,
  streamHeader,
} from "../s2s/common.ts";
import type { Router } from "../core/router.ts";
import { StreamError } from "../core/errors.ts";
import { parseJid } from "../jid.ts";
import { el, type Element, serialize } from "../xml/element.ts";
import { NS } from "../xml/namespaces.ts";
import type { Frame } from "../xml/parser.ts";
import { FrameInput } from "./frame_input.ts";
import { encodeBase64Text } from "../util/base64.ts";
import type { DialbackVerdict } from "./s2s_in.ts";
import { logger } from "../log.ts";

const log = logger("s2s");

export interface S2sOutServices {
  config: Config;
  tls: SecureContexts;
  anchors: TrustAnchors;
  keys: DialbackKeys;
  /** Where the peer's stanzas go when this stream is bidirectional (XEP-0288). */
  router: Router;
}

/** Why a stream could not be made: decides the bounce condition. */
export type FailureKind = "not-found" | "timeout" | "shutdown";

export interface S2sOutEvents {
  /** Never authenticated: the queued stanzas must be bounced. */
  onFail(queued: Element[], kind: FailureKind, reason: string): void;
  /** The stream is gone (after failure, idle close or shutdown). */
  onClosed(): void;
}

export class S2sOutStream {
  #conn: Connection | undefined;
  #input: FrameInput | undefined;
  #queue: Element[] = [];
  #ready = false;
  #closed = false;
  #streamId: string | undefined;
  /** The server's header declared the dialback namespace. */
  #peerDialback = false;
  #features: Element | undefined;
  #externalTried = false;
  #saslDone = false;
  #dialbackSent = false;
  /** We sent `<bidi/>` (XEP-0288): the peer may send its stanzas back here. */
  #bidi = false;
  /** db:verify requests may go out once TLS (if required) is up. */
  #canVerify = false;
  #verifyQueue: Element[] = [];
  #verifies = new Map<string, (v: DialbackVerdict) => void>();
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #lastActivity = Date.now();

  constructor(
    readonly local: string,
    readonly remote: string,
    readonly services: S2sOutServices,
    readonly events: S2sOutEvents,
  ) {}

  get ready(): boolean {
    return this.#ready;
  }

  get closed(): boolean {
    return this.#closed;
  }

  start(): void {
    const seconds = this.services.config.s2s.connectTimeoutSeconds;
    this.#connectTimer = setTimeout(
      () => this.#fail("timeout", `no authenticated stream within ${seconds} s`),
      seconds * 1000,
    );
    this.#connect().catch((err) => this.#fail("not-found", String(err?.message ?? err)));
  }

  send(stanza: Element): void {
    if (this.#closed) return;
    if (this.#ready) {
      this.#lastActivity = Date.now();
      this.#conn!.write(serialize(stanza));
    } else this.#queue.push(stanza);
  }

  /** Ask the remote (authoritative) server whether it made `key` (XEP-0220 §2.2). */
  verify(streamId: string, key: string): Promise<DialbackVerdict> {
    if (this.#closed) return Promise.resolve("error");
    return new Promise((resolve) => {
      const id = streamId;
      const previous = this.#verifies.get(id);
      this.#verifies.set(id, (v) => {
        previous?.(v);
        resolve(v);
      });
      const request = el("db:verify", { from: this.local, to: this.remote, id }, key);
      if (this.#canVerify) this.#conn!.write(serialize(request));
      else this.#verifyQueue.push(request);
    });
  }

  // ---- connecting ------------------------------------------------------------------

  async #connect(): Promise<void> {
    const targets = await resolveTargets(this.remote, this.services.config.s2s.hosts);
    if (targets.length === 0) {
      throw new Error(`DNS says ${this.remote} offers no XMPP server-to-server service`);
    }
    const errors: string[] = [];
    for (const target of targets) {
      if (this.#closed) return;
      try {
        const conn = await this.#open(target);
        if (this.#closed) {
          conn.close();
          return;
        }
        this.#attach(conn);
        return;
      } catch (err) {
        errors.push(`${target.host}:${target.port}: ${(err as Error).message}`);
      }
    }
    throw new Error(`cannot connect (${errors.join("; ")})`);
  }

  #open(target: Target): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      if (target.directTls) {
        const cert = this.services.tls.certFor(this.local);
        const socket = tls.connect({
          host: target.host,
          port: target.port,
          servername: this.remote,
          ALPNProtocols: ["xmpp-server"],
          rejectUnauthorized: false,
          cert: cert.certPem,
          key: cert.keyPem,
        });
        socket.once("error", onError);
        socket.once("secureConnect", () => {
          socket.off("error", onError);
          resolve(new SocketConnection(socket, tlsStateOf(socket)));
        });
      } else {
        const socket = net.connect({ host: target.host, port: target.port });
        socket.once("error", onError);
        socket.once("connect", () => {
          socket.off("error", onError);
          resolve(new SocketConnection(socket));
        });
      }
    });
  }

  #attach(conn: Connection): void {
    this.#conn = conn;
    this.#input = new FrameInput(
      (frame) => this.#handleFrame(frame),
      this.services.config.c2s.maxStanzaSize,
      (full) => full ? conn.pause() : conn.resume(),
      (err) => this.#fail("not-found", String((err as Error)?.message ?? err)),
    );
    conn.start({
      onData: (chunk) => {
        this.#lastActivity = Date.now();
        this.#input!.push(chunk);
      },
      onClose: (error) => {
        if (!this.#ready) {
          this.#fail("not-found", error ? error.message : "connection closed during negotiation");
        } else this.#finish();
      },
    });
    this.#sendHeader();
  }

  #sendHeader(): void {
    this.#conn!.write(streamHeader({ from: this.local, to: this.remote }));
  }

  // ---- negotiation ---------------------------------------------------------------

  #handleFrame(frame: Frame): void | Promise<void> {
    switch (frame.kind) {
      case "open":
        this.#streamId = frame.attrs.id;
        this.#peerDialback = frame.attrs["xmlns:db"] === NS_DIALBACK;
        if (frame.attrs.version === undefined) {
          // A pre-1.0 server sends no features: dialback right away.
          this.#features = el("stream:features");
          return this.#authenticate();
        }
        return;
      case "stanza":
        return this.#onElement(frame.element);
      case "close":
        if (!this.#ready) throw new Error("the remote server closed the stream");
        this.close();
        return;
      case "error":
        throw new Error(`the remote server sent malformed XML: ${frame.text}`);
    }
  }

  #onElement(e: Element): void | Promise<void> {
    const xmlns = e.attrs.xmlns;
    if (e.name === "stream:features") return this.#onFeatures(e);
    if (e.name === "stream:error") {
      const cond = e.getChildren().find((c) => c.attrs.xmlns === NS.streams && c.name !== "text");
      const text = e.getChild("text", NS.streams)?.text();
      throw new Error(
        `the remote server sent <${cond?.name}/>${text ? ` (${text})` : ""}; ` +
          "its administrator's logs say why (often its certificate or dialback policy)",
      );
    }
    if (xmlns === NS.tls && e.name === "proceed") return this.#onProceed();
    if (xmlns === NS.tls && e.name === "failure") throw new Error("STARTTLS failed");
    if (xmlns === NS.sasl && e.name === "success") {
      this.#saslDone = true;
      this.#restart();
      log.info("{local} → {remote}: authenticated by certificate (SASL EXTERNAL)", this.#names());
      return;
    }
    if (xmlns === NS.sasl && e.name === "failure") {
      log.info("{local} → {remote}: SASL EXTERNAL refused, trying dialback", this.#names());
      return this.#authenticate();
    }
    if (xmlns === NS_DIALBACK && e.name === "result") return this.#onDbResult(e);
    if (xmlns === NS_DIALBACK && e.name === "verify") {
      const type = e.attrs.type;
      const verdict: DialbackVerdict = type === "valid"
        ? "valid"
        : type === "invalid"
        ? "invalid"
        : "error";
      const id = e.attrs.id ?? "";
      const waiter = this.#verifies.get(id);
      this.#verifies.delete(id);
      waiter?.(verdict);
      return;
    }
    if (
      xmlns === undefined && (e.name === "message" || e.name === "presence" || e.name === "iq")
    ) return this.#onPeerStanza(e);
    log.debug("{local} → {remote}: ignoring <{name}/> on an outgoing stream", {
      ...this.#names(),
      name: e.name,
    });
  }

  /**
   * XEP-0288 §2.2: once authenticated, the peer may send from its domain to
   * ours on this stream, and only that (the pair this stream proved).
   */
  #onPeerStanza(stanza: Element): void {
    if (!this.#bidi || !this.#ready) {
      // Without XEP-0288 the peer's stanzas belong on its own outgoing stream.
      log.debug("{local} → {remote}: ignoring <{name}/> on an outgoing stream", {
        ...this.#names(),
        name: stanza.name,
      });
      return;
    }
    const from = stanza.attrs.from === undefined ? undefined : parseJid(stanza.attrs.from);
    const to = stanza.attrs.to === undefined ? undefined : parseJid(stanza.attrs.to);
    if (from?.domain !== this.remote) {
      return this.close(new StreamError("invalid-from", `Only ${this.remote} here`).toElement());
    }
    if (to?.domain !== this.local) {
      return this.close(
        new StreamError("improper-addressing", `Only ${this.local} here`).toElement(),
      );
    }
    this.#lastActivity = Date.now();
    this.services.router.fromPeer(stanza);
  }

  #names() {
    return { local: this.local, remote: this.remote };
  }

  #onFeatures(features: Element): void {
    this.#features = features;
    const conn = this.#conn!;
    const s2s = this.services.config.s2s;
    if (!conn.tls) {
      if (features.getChild("starttls", NS.tls)) {
        conn.write(serialize(el("starttls", { xmlns: NS.tls })));
        return;
      }
      if (s2s.requireEncryption) {
        throw new Error("the remote server does not offer TLS and s2s.requireEncryption is on");
      }
    } else {
      const verdict = this.services.anchors.verify(conn.tls.peerChain, this.remote);
      if (!verdict.ok && s2s.requireValidCertificates) {
        throw new Error(
          `its certificate is not valid (${verdict.reason}) and s2s.requireValidCertificates is on`,
        );
      }
    }
    this.#canVerify = true;
    for (const request of this.#verifyQueue.splice(0)) conn.write(serialize(request));
    // XEP-0288: asked for before SASL or dialback, once per connection.
    if (!this.#bidi && features.getChild("bidi", NS_BIDI_FEATURE)) {
      this.#bidi = true;
      conn.write(serialize(el("bidi", { xmlns: NS_BIDI })));
    }
    if (this.#saslDone) return this.#becomeReady();
    this.#authenticate();
  }

  #authenticate(): void {
    const conn = this.#conn!;
    const features = this.#features!;
    const mechanisms = features.getChild("mechanisms", NS.sasl);
    const external = mechanisms?.getChildren("mechanism").some((m) => m.text() === "EXTERNAL");
    if (external && !this.#externalTried && conn.tls) {
      this.#externalTried = true;
      conn.write(serialize(el(
        "auth",
        { xmlns: NS.sasl, mechanism: "EXTERNAL" },
        encodeBase64Text(
          this.local,
        ),
      )));
      return;
    }
    const offered = features.getChild("dialback", NS_DIALBACK_FEATURE) !== undefined ||
      this.#peerDialback;
    if (!offered) {
      throw new Error(
        "no authentication method in common (neither SASL EXTERNAL with our certificate nor dialback)",
      );
    }
    if (!this.services.config.s2s.allowDialback) {
      throw new Error("only dialback is offered and s2s.allowDialback is off");
    }
    if (this.#dialbackSent) return;
    this.#dialbackSent = true;
    const key = this.services.keys.generate(this.remote, this.local, this.#streamId ?? "");
    conn.write(serialize(el("db:result", { from: this.local, to: this.remote }, key)));
  }

  async #onProceed(): Promise<void> {
    const conn = this.#conn!;
    this.#input!.resetForTls();
    const cert = this.services.tls.certFor(this.local);
    await conn.startTlsClient!({
      servername: this.remote,
      cert: cert.certPem,
      key: cert.keyPem,
    });
    this.#sendHeader();
  }

  #restart(): void {
    this.#input!.reset();
    this.#sendHeader();
  }

  #onDbResult(result: Element): void {
    if (result.attrs.from !== this.remote || result.attrs.to !== this.local) return;
    const type = result.attrs.type;
    if (type === "valid") {
      log.info("{local} → {remote}: authenticated by dialback", this.#names());
      return this.#becomeReady();
    }
    const cond = result.getChild("error")?.getChildren()[0]?.name;
    throw new Error(
      type === "invalid"
        ? "it refused our dialback key (it could not verify it with us: check that our s2s " +
          "port is reachable from it and that DNS for our domain points at us)"
        : `dialback error${cond ? ` <${cond}/>` : ""}`,
    );
  }

  #becomeReady(): void {
    if (this.#ready) return;
    this.#ready = true;
    clearTimeout(this.#connectTimer);
    const conn = this.#conn!;
    for (const stanza of this.#queue.splice(0)) conn.write(serialize(stanza));
    this.#lastActivity = Date.now();
    this.#armIdle();
  }

  #armIdle(): void {
    const idleMs = this.services.config.s2s.idleTimeoutSeconds * 1000;
    const due = this.#lastActivity + idleMs - Date.now();
    this.#idleTimer = setTimeout(() => {
      if (Date.now() - this.#lastActivity >= idleMs) {
        log.debug("{local} → {remote}: idle, closing", this.#names());
        this.close();
      } else this.#armIdle();
    }, Math.max(due, 1000));
  }

  // ---- ending -----------------------------------------------------------------------

  #fail(kind: FailureKind, reason: string): void {
    if (this.#closed) return;
    if (this.#ready) {
      // Nothing is queued once ready: the next stanza opens a new stream.
      log.info("{local} → {remote}: stream ended: {reason}", { ...this.#names(), reason });
      return this.close();
    }
    const queued = this.#queue.splice(0);
    if (kind === "shutdown") {
      log.info("{local} → {remote}: abandoned: {reason}", { ...this.#names(), reason });
    } else {
      log.warn(
        "cannot federate {local} → {remote}: {reason}. {remedy}",
        { ...this.#names(), reason, remedy: remedyFor(kind, this.remote) },
      );
    }
    this.close();
    this.events.onFail(queued, kind, reason);
  }

  /** Give up a stream still being set up: its queued stanzas are bounced (`onFail`). */
  abandon(reason: string): void {
    if (!this.#ready) this.#fail("shutdown", reason);
  }

  /** Close the stream (with an optional stream error) and forget it. */
  close(error?: Element): void {
    if (this.#closed) return;
    // Forget the stream first: the transport's close callback then finds it closed.
    this.#finish();
    const conn = this.#conn;
    if (conn && !conn.closed) {
      if (error) conn.write(serialize(error));
      conn.write("</stream:stream>");
      conn.close();
    }
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#idleTimer);
    this.#input?.stop();
    for (const waiter of this.#verifies.values()) waiter("error");
    this.#verifies.clear();
    this.events.onClosed();
  }
}

function remedyFor(kind: FailureKind, remote: string): string {
  return kind === "timeout"
    ? `Check that ${remote}'s server is up and reachable on its s2s port, or raise s2s.connectTimeoutSeconds.`
    : `Check the _xmpp-server._tcp.${remote} SRV record (or an s2s.hosts route) and that its ` +
      "server accepts connections on that port.";
}
