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
 * Once authenticated, another hosted domain can join the stream with its
 * own `<db:result/>` (piggybacking, XEP-0220 §2.4; XEP-0344 when the peer
 * checks our certificate instead): the manager sends its stanzas here too.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import type { Config } from "../config/schema.ts";
import { type Connection, SocketConnection, tlsStateOf } from "../net/connection.ts";
import type { SecureContexts } from "../net/secure_contexts.ts";
import type { TrustAnchors } from "../s2s/cert_verify.ts";
import type { DialbackKeys } from "../s2s/dialback_key.ts";
import {
  connectionAttempts,
  type Resolver,
  resolveTargets,
  systemResolver,
  type Target,
} from "../s2s/resolve.ts";
import {
  NS_BIDI,
  NS_BIDI_FEATURE,
  NS_DIALBACK,
  NS_DIALBACK_FEATURE,
  replyVersion,
  streamHeader,
} from "../s2s/common.ts";
import type { Router } from "../core/router.ts";
import { StreamError } from "../core/errors.ts";
import { serverLimits } from "./limits.ts";
import { parseJid } from "../jid.ts";
import { el, type Element, serialize } from "../xml/element.ts";
import { NS } from "../xml/namespaces.ts";
import type { Frame } from "../xml/parser.ts";
import { UnsentTracker } from "../net/unsent_tracker.ts";
import { FrameInput, relayLimits } from "./frame_input.ts";
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
  /** Bytes queued over all outgoing streams, within s2s.maxQueuedBytesTotal. */
  queued: { bytes: number };
  /** Test hooks for connecting: unset in production. */
  connect?: S2sConnectHooks;
}

export interface S2sConnectHooks {
  /** DNS (SRV and A/AAAA) instead of the system's: tests send no query off the machine. */
  resolver?: Resolver;
  /** Per-address attempt limit instead of `ATTEMPT_TIMEOUT_MS`. */
  attemptTimeoutMs?: number;
  /** The draw for RFC 2782 weighted ordering, in [0, 1). */
  random?: () => number;
}

/**
 * How long one address may take to accept TCP (and, for direct TLS, finish
 * the handshake) and then answer our stream header, before the next address
 * or SRV target is tried (RFC 6120 §3.2.1). Without it a host that accepts
 * TCP and then hangs would use all of s2s.connectTimeoutSeconds, and later
 * targets would never be tried. A few seconds is ample for a working server
 * across the world; the last candidate gets whatever remains of
 * s2s.connectTimeoutSeconds, since there is nothing left to move on to.
 */
const ATTEMPT_TIMEOUT_MS = 5000;

/**
 * Why a stream could not be made: decides the bounce condition (timeout and
 * shutdown: remote-server-timeout; the rest: remote-server-not-found) and
 * the remedy the log gives (`failureRemedy`).
 */
export type FailureKind =
  /** The domain does not resolve, or DNS says it offers no s2s service. */
  | "dns"
  /** No address accepted a TCP connection. */
  | "connect"
  /** No authenticated stream within s2s.connectTimeoutSeconds. */
  | "timeout"
  /** The TLS handshake (direct or after STARTTLS) failed. */
  | "tls"
  /** Its certificate is not valid for it and s2s.requireValidCertificates is on. */
  | "certificate"
  /** It will not encrypt and s2s.requireEncryption is on. */
  | "policy"
  /** No authentication method in common (or dialback is off here). */
  | "auth"
  /** It refused or could not check our dialback key. */
  | "dialback"
  /** It closed the stream with a stream error (the detail names the condition). */
  | "stream-error"
  /** The connection ended, or the peer broke the protocol, during negotiation. */
  | "closed"
  /** This server is stopping. */
  | "shutdown";

/** A negotiation failure of a known cause, thrown inside the stream's handlers. */
class NegotiationError extends Error {
  constructor(readonly kind: FailureKind, message: string, readonly detail?: string) {
    super(message);
  }
}

export interface S2sOutEvents {
  /** Never authenticated: the queued stanzas must be bounced. */
  onFail(queued: Element[], kind: FailureKind, reason: string): void;
  /** The stream is gone (after failure, idle close or shutdown). */
  onClosed(): void;
  /**
   * A domain that was joining this stream (`piggyback`) will not be
   * carried by it: its queued stanzas need another way. `refused`: the
   * peer answered its db:result with invalid or error; otherwise the stream
   * ended first or the peer did not answer in time.
   */
  onPiggybackFailed(local: string, queued: Element[], refused: boolean): void;
  /**
   * The peer stopped reading (the output passed s2s.maxOutputBytes): these
   * stanzas were written but never reached it, oldest first. They are
   * bounced (remote-server-timeout), as for a stream that could not be made.
   */
  onUndelivered(stanzas: Element[], reason: string): void;
  /**
   * Stanzas waiting for this stream (to connect, or for a joining domain's
   * answer, or to be flushed) already take s2s.maxQueuedBytes (or all
   * streams' take s2s.maxQueuedBytesTotal): `stanza`
   * from `local` was not queued and must be bounced at once.
   */
  onQueueFull(local: string, stanza: Element): void;
}

/** A stanza waiting to be written, with its serialized form (counted against the bound). */
interface Queued {
  stanza: Element;
  data: string;
}

/** Another hosted domain on this stream: verified, or still waiting (with its stanzas). */
interface Piggyback {
  valid: boolean;
  queue: Queued[];
  /** While waiting: gives up after s2s.connectTimeoutSeconds without an answer. */
  timer?: ReturnType<typeof setTimeout>;
}

export class S2sOutStream {
  #conn: Connection | undefined;
  #input: FrameInput | undefined;
  /** Stanzas written to the authenticated stream and not yet flushed: an overflow bounces them. */
  #unsent: UnsentTracker<Element> | undefined;
  /**
   * Stanzas not yet written: while connecting, and once ready while the
   * pump (`#pump`) flushes them at the pace the peer reads. From `#queueHead` on.
   */
  #queue: Queued[] = [];
  #queueHead = 0;
  /** Serialized size of every queued stanza (here and in joining domains' queues). */
  #queuedBytes = 0;
  #pumping = false;
  /** The queue was found full once: logged once per stream, not once per bounce. */
  #queueFullLogged = false;
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
  /** A STARTTLS handshake is under way: a connection lost now is a TLS failure. */
  #tlsStarting = false;
  #verifyQueue: Element[] = [];
  #verifies = new Map<string, (v: DialbackVerdict) => void>();
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  /** What was tried and how it failed, for the log line if nothing works. */
  #tried: string[] = [];
  /** The address being tried now, for that log line. */
  #trying: string | undefined;
  /** While an address is being tried: ends that attempt (see #attempt). */
  #abortAttempt: (() => void) | undefined;
  /** Connected, waiting for the peer's first data: called with it (or with why not). */
  #pendingAnswer: ((err?: Error) => void) | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #lastActivity = Date.now();
  /** Hosted domains besides `local` that asked to send on this stream. */
  #extra = new Map<string, Piggyback>();

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
    this.#connectTimer = setTimeout(() => {
      const all = [...this.#tried, ...this.#trying ? [`${this.#trying}: no answer yet`] : []];
      const tried = all.length ? ` (tried ${all.join("; ")})` : "";
      this.#fail("timeout", `no authenticated stream within ${seconds} s${tried}`);
    }, seconds * 1000);
    this.#connect().catch((err) => this.#failWith(err, "connect"));
  }

  send(stanza: Element): void {
    this.#sendFrom(this.local, stanza);
  }

  /** `local`: this stream's domain or a verified joined one (whom a bounce goes to). */
  #sendFrom(local: string, stanza: Element): void {
    if (this.#closed) return;
    // Behind the queue while it is flushed, so the pair's stanzas stay in order.
    if (this.#ready && this.#queueHead === this.#queue.length) {
      this.#lastActivity = Date.now();
      this.#writeStanza(stanza, serialize(stanza));
    } else this.#enqueue(this.#queue, local, stanza);
  }

  /** Send from `local`: this stream's own domain, or one that joined it (`piggyback`). */
  sendAs(local: string, stanza: Element): void {
    if (local === this.local || this.#closed) return this.send(stanza);
    const extra = this.#extra.get(local);
    // Never sent under a domain the peer was not asked about: it needs a stream of its own.
    if (!extra) return this.events.onPiggybackFailed(local, [stanza], false);
    if (!extra.valid) return this.#enqueue(extra.queue, local, stanza);
    this.#sendFrom(local, stanza);
  }

  /**
   * Queue `stanza` (from `local`) on `queue`, within s2s.maxQueuedBytes for
   * the whole stream and s2s.maxQueuedBytesTotal for all outgoing streams;
   * past either the stanza is bounced at once. Without the
   * bound, senders could grow memory without limit for as long as a slow or
   * unreachable domain keeps the stream connecting.
   */
  #enqueue(queue: Queued[], local: string, stanza: Element): void {
    const data = serialize(stanza);
    const { maxQueuedBytes: max, maxQueuedBytesTotal: total } = this.services.config.s2s;
    const streamFull = this.#queuedBytes + data.length > max;
    // Over all streams too: many senders could otherwise fill one queue per domain.
    if (streamFull || this.services.queued.bytes + data.length > total) {
      // The stream is up and its own queue still grows: the peer does not read what the
      // pump writes (it waits on `writable`), as when the output mark is passed.
      if (streamFull && this.#ready && queue === this.#queue) {
        return this.#notReading(stanza, data);
      }
      if (!this.#queueFullLogged) {
        this.#queueFullLogged = true;
        log.warn(
          "{local} → {remote}: {bytes} bytes of stanzas already wait for the stream " +
            "({total} for all streams); bouncing more with resource-constraint",
          { ...this.#names(), bytes: this.#queuedBytes, total: this.services.queued.bytes },
        );
      }
      return this.events.onQueueFull(local, stanza);
    }
    this.#count(data.length);
    queue.push({ stanza, data });
  }

  /**
   * The peer stopped reading while the queue was being flushed: the stream is
   * closed and what it did not take (`stanza` last) is bounced as undelivered.
   */
  #notReading(stanza: Element, data: string): void {
    this.#unsent!.stop();
    this.#queue.push({ stanza, data });
    this.#count(data.length);
    log.warn("{local} → {remote}: peer not reading its stream; closing", this.#names());
    this.close(new StreamError("resource-constraint", "Too much output waiting").toElement());
  }

  #count(bytes: number): void {
    this.#queuedBytes += bytes;
    this.services.queued.bytes += bytes;
  }

  /** The main queue's stanzas, oldest first, removed from it. */
  #takeQueued(): Element[] {
    const taken = this.#queue.slice(this.#queueHead);
    this.#queue = [];
    this.#queueHead = 0;
    for (const q of taken) this.#count(-q.data.length);
    return taken.map((q) => q.stanza);
  }

  /** A joining domain's queued stanzas, removed from the count. */
  #takeExtra(extra: Piggyback): Element[] {
    const taken = extra.queue.splice(0);
    for (const q of taken) this.#count(-q.data.length);
    return taken.map((q) => q.stanza);
  }

  /**
   * Write the queue out once the stream is ready, one stanza at a time as
   * the connection can take it (`writable`): written in one go, a queue
   * bigger than s2s.maxOutputBytes would pass the output mark by itself and
   * close the stream even though the peer reads.
   */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    const conn = this.#conn!;
    try {
      while (this.#queueHead < this.#queue.length) {
        await conn.writable();
        // Closed meanwhile: #finish bounced what is left.
        if (this.#closed || this.#conn !== conn) return;
        const next = this.#queue[this.#queueHead++];
        this.#count(-next.data.length);
        this.#lastActivity = Date.now();
        this.#writeStanza(next.stanza, next.data);
      }
      this.#queue = [];
      this.#queueHead = 0;
    } finally {
      this.#pumping = false;
    }
  }

  /** A stanza onto the stream, tracked so that an output overflow bounces it. */
  #writeStanza(stanza: Element, data: string): void {
    const unsent = this.#unsent!;
    if (unsent.stopped) return unsent.keep(stanza);
    unsent.record(stanza, data.length);
    this.#conn!.write(data);
  }

  /**
   * Can another hosted domain join this stream with a `<db:result/>`?
   * Authenticated, and the peer does dialback (its feature or, before 1.0,
   * its header), which our policy allows.
   */
  get canPiggyback(): boolean {
    if (!this.#ready || this.#closed || !this.services.config.s2s.allowDialback) return false;
    return this.#peerDialback ||
      this.#features?.getChild("dialback", NS_DIALBACK_FEATURE) !== undefined;
  }

  /** The domains this stream sends from (its own and those that joined it). */
  get domains(): string[] {
    return [this.local, ...this.#extra.keys()];
  }

  /**
   * Authenticate `local` too on this live stream (XEP-0220 §2.4): its
   * stanzas (`sendAs`) wait until the peer says valid. False: it cannot.
   */
  piggyback(local: string): boolean {
    if (local === this.local || this.#extra.has(local)) return true;
    if (!this.canPiggyback) return false;
    const extra: Piggyback = { valid: false, queue: [] };
    // The stream's own traffic keeps it open: without a deadline of its own, a db:result
    // the peer never answers would hold this domain's stanzas forever.
    const seconds = this.services.config.s2s.connectTimeoutSeconds;
    extra.timer = setTimeout(() => {
      if (this.#extra.get(local) !== extra || extra.valid) return;
      log.info("{extra} → {remote}: no answer on {local}'s stream in {seconds} s, going alone", {
        ...this.#names(),
        extra: local,
        seconds,
      });
      this.#extra.delete(local);
      this.events.onPiggybackFailed(local, this.#takeExtra(extra), false);
    }, seconds * 1000);
    this.#extra.set(local, extra);
    const key = this.services.keys.generate(this.remote, local, this.#streamId ?? "");
    this.#lastActivity = Date.now();
    this.#conn!.write(serialize(el("db:result", { from: local, to: this.remote }, key)));
    log.debug("{local} → {remote}: {extra} asks to join the stream (dialback)", {
      ...this.#names(),
      extra: local,
    });
    return true;
  }

  /**
   * Ask the remote (authoritative) server whether it made `key` (XEP-0220
   * §2.2). No answer within s2s.connectTimeoutSeconds counts as "error", so
   * the peer waiting on the receiving side is answered rather than left hanging.
   */
  verify(streamId: string, key: string, from = this.local): Promise<DialbackVerdict> {
    if (this.#closed) return Promise.resolve("error");
    return new Promise((resolve) => {
      const id = streamId;
      const seconds = this.services.config.s2s.connectTimeoutSeconds;
      const timer = setTimeout(() => {
        log.info("{local} → {remote}: no answer to db:verify within {seconds} s", {
          ...this.#names(),
          seconds,
        });
        // No longer pending: the stream may go idle again.
        if (this.#verifies.get(id) === waiter) this.#verifies.delete(id);
        done("error");
      }, seconds * 1000);
      let settled = false;
      const done = (v: DialbackVerdict) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(v);
      };
      const previous = this.#verifies.get(id);
      const waiter = (v: DialbackVerdict) => {
        previous?.(v);
        done(v);
      };
      this.#verifies.set(id, waiter);
      const request = el("db:verify", { from, to: this.remote, id }, key);
      // A request out is activity, and the idle timer waits for its answer
      // (see #armIdle): closing under it failed the peer's new stream.
      this.#lastActivity = Date.now();
      if (this.#canVerify) this.#conn!.write(serialize(request));
      else this.#verifyQueue.push(request);
    });
  }

  // ---- connecting ------------------------------------------------------------------

  async #connect(): Promise<void> {
    const hooks = this.services.connect ?? {};
    const resolver = hooks.resolver ?? systemResolver;
    const deadline = Date.now() + this.services.config.s2s.connectTimeoutSeconds * 1000;
    const perAttempt = hooks.attemptTimeoutMs ?? ATTEMPT_TIMEOUT_MS;
    const targets = await resolveTargets(
      this.remote,
      this.services.config.s2s.hosts,
      resolver.srv,
      hooks.random,
    );
    if (targets.length === 0) {
      throw new NegotiationError(
        "dns",
        `DNS says ${this.remote} offers no XMPP server-to-server service`,
      );
    }
    const errors = this.#tried;
    const kinds = new Set<FailureKind>();
    // A target's A/AAAA lookup gets the same share of the time as a connection attempt.
    const lookupLimit = (last: boolean) => {
      const left = deadline - Date.now();
      return last ? left : Math.min(perAttempt, left);
    };
    for await (const attempt of connectionAttempts(targets, resolver.addresses, lookupLimit)) {
      if (this.#closed) return;
      const { target } = attempt;
      const where = `${target.directTls ? "tls://" : ""}${target.host}:${target.port}`;
      if ("error" in attempt) {
        errors.push(`${where}: ${attempt.error.message}`);
        const code = (attempt.error as { code?: string }).code ?? "";
        kinds.add(DNS_ERRORS.has(code) || !code ? "dns" : "connect");
        continue;
      }
      const label = attempt.address === target.host ? where : `${where} (${attempt.address})`;
      const left = deadline - Date.now();
      if (left <= 0) return; // the stream's own timer is about to report the timeout
      const ms = attempt.last ? left : Math.min(perAttempt, left);
      this.#trying = label;
      try {
        await this.#attempt(target, attempt.address, ms);
        return;
      } catch (err) {
        this.#trying = undefined;
        if (this.#closed) return;
        errors.push(`${label}: ${(err as Error).message}`);
        kinds.add(err instanceof NegotiationError ? err.kind : "connect");
        log.debug("{local} → {remote}: {label} failed: {error}", {
          ...this.#names(),
          label,
          error: (err as Error).message,
        });
      }
    }
    // The most telling cause: a TLS failure, a silent host or one that hung up means it was
    // reachable; DNS only if nothing resolved.
    const kind = FAILURE_PRECEDENCE.find((k) => kinds.has(k)) ?? "connect";
    throw new NegotiationError(kind, `cannot connect (tried ${errors.join("; ")})`);
  }

  /**
   * Connect to one address of `target` and send our stream header; done when
   * the peer answers with any data (its header), within `ms`. Until then a
   * failure or silence only ends this attempt: the connection is dropped and
   * the stream is as before, ready for the next address.
   */
  #attempt(target: Target, address: string, ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let conn: Connection | undefined;
      let settled = false;
      const end = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#abortAttempt = undefined;
        this.#pendingAnswer = undefined;
        if (!err) return resolve();
        // Forget this connection before closing it: its close callback then finds it stale.
        if (conn && this.#conn === conn) {
          this.#conn = undefined;
          this.#input?.stop();
          this.#input = undefined;
        }
        conn?.close();
        opening.cancel();
        reject(err);
      };
      const timer = setTimeout(
        () => end(new NegotiationError("timeout", `no answer within ${formatSeconds(ms)}`)),
        ms,
      );
      this.#abortAttempt = () => end(new NegotiationError("shutdown", "stream closed"));
      const opening = this.#open(target, address);
      opening.promise.then((opened) => {
        if (settled) return opened.close();
        conn = opened;
        this.#pendingAnswer = end;
        this.#attach(opened);
      }, (err) => end(err as Error));
    });
  }

  #open(target: Target, address: string): { promise: Promise<Connection>; cancel(): void } {
    let socket: net.Socket | undefined;
    let opened = false;
    const promise = new Promise<Connection>((resolve, reject) => {
      let connected = false;
      const onError = (err: Error) => {
        const code = (err as { code?: string }).code ?? "";
        const kind = connected ? "tls" : DNS_ERRORS.has(code) ? "dns" : "connect";
        reject(new NegotiationError(kind, err.message));
      };
      if (target.directTls) {
        const cert = this.services.tls.certFor(this.local);
        const secure = tls.connect({
          host: address,
          port: target.port,
          servername: this.remote,
          ALPNProtocols: ["xmpp-server"],
          rejectUnauthorized: false,
          cert: cert.certPem,
          key: cert.keyPem,
        });
        socket = secure;
        secure.once("error", onError);
        secure.once("connect", () => connected = true);
        secure.once("secureConnect", () => {
          secure.off("error", onError);
          opened = true;
          resolve(new SocketConnection(secure, tlsStateOf(secure)));
        });
      } else {
        const plain = net.connect({ host: address, port: target.port });
        socket = plain;
        plain.once("error", onError);
        plain.once("connect", () => {
          plain.off("error", onError);
          opened = true;
          resolve(new SocketConnection(plain));
        });
      }
    });
    // Given up before it connected (or finished the TLS handshake): no socket may linger.
    // Once open, the Connection owns the socket.
    return {
      promise,
      cancel: () => {
        if (!opened) socket?.destroy();
      },
    };
  }

  #attach(conn: Connection): void {
    this.#conn = conn;
    this.#unsent = new UnsentTracker(conn);
    this.#input = new FrameInput(
      (frame) => this.#handleFrame(frame),
      relayLimits(this.services.config.c2s),
      (full) => full ? conn.pause() : conn.resume(),
      (err) => this.#failWith(err, "closed"),
    );
    conn.start({
      onData: (chunk) => {
        if (this.#conn !== conn) return;
        this.#lastActivity = Date.now();
        // The peer answered: this address is the one (see #attempt).
        this.#pendingAnswer?.();
        this.#input!.push(chunk);
      },
      onClose: (error) => {
        if (this.#conn !== conn) return; // an attempt given up (see #attempt)
        if (this.#pendingAnswer) {
          return this.#pendingAnswer(
            new NegotiationError("closed", error?.message ?? "closed without answering"),
          );
        }
        if (!this.#ready) {
          this.#fail(
            this.#tlsStarting ? "tls" : "closed",
            error ? error.message : "connection closed during negotiation",
          );
        } else this.#finish();
      },
      // The peer stopped reading. Called from inside a write: close a moment
      // later; the next stanza for the peer opens a new stream.
      onOverflow: () => {
        if (this.#conn !== conn) return;
        // Before the connection drops its queue: what it holds is bounced when the stream ends.
        this.#unsent!.stop();
        log.warn("{local} → {remote}: peer not reading its stream; closing", this.#names());
        queueMicrotask(() =>
          this.close(new StreamError("resource-constraint", "Too much output waiting").toElement())
        );
      },
    }, serverLimits(this.services.config));
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
        // Pre-1.0 (no version, or one below 1.0, read as for our reply header: RFC 6120
        // §4.7.5): such a server sends no features (so no STARTTLS either): the policy
        // decides whether this unencrypted stream may be used, then dialback.
        if (replyVersion(frame.attrs.version) !== "1.0") {
          this.#features = el("stream:features");
          this.#checkSecurity();
          this.#allowVerify();
          if (this.#saslDone) return this.#becomeReady();
          return this.#authenticate();
        }
        return;
      case "stanza":
        return this.#onElement(frame.element);
      case "close":
        if (!this.#ready) {
          throw new NegotiationError("closed", "the remote server closed the stream");
        }
        this.close();
        return;
      case "error":
        throw new NegotiationError("closed", `the remote server sent malformed XML: ${frame.text}`);
    }
  }

  #onElement(e: Element): void | Promise<void> {
    const xmlns = e.attrs.xmlns;
    if (e.name === "stream:features") return this.#onFeatures(e);
    if (e.name === "stream:error") {
      const cond = e.getChildren().find((c) => c.attrs.xmlns === NS.streams && c.name !== "text");
      const text = e.getChild("text", NS.streams)?.text();
      const name = cond?.name ?? "undefined-condition";
      throw new NegotiationError(
        "stream-error",
        `the remote server sent the stream error <${name}/>${text ? ` (${text})` : ""}`,
        name,
      );
    }
    if (xmlns === NS.tls && e.name === "proceed") return this.#onProceed();
    if (xmlns === NS.tls && e.name === "failure") {
      throw new NegotiationError("tls", "the remote server refused STARTTLS (<failure/>)");
    }
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
    if (to?.domain !== this.local && !this.#extra.get(to?.domain ?? "")?.valid) {
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
    if (!conn.tls && features.getChild("starttls", NS.tls)) {
      conn.write(serialize(el("starttls", { xmlns: NS.tls })));
      return;
    }
    this.#checkSecurity();
    this.#allowVerify();
    // XEP-0288: asked for before SASL or dialback, once per connection.
    if (!this.#bidi && features.getChild("bidi", NS_BIDI_FEATURE)) {
      this.#bidi = true;
      conn.write(serialize(el("bidi", { xmlns: NS_BIDI })));
    }
    if (this.#saslDone) return this.#becomeReady();
    this.#authenticate();
  }

  /**
   * The stream as it is now (no TLS on offer, or TLS done) must satisfy the
   * policy before anything (dialback keys, db:verify, stanzas) goes out:
   * RFC 6120 §5.3.1, encryption required by default.
   */
  #checkSecurity(): void {
    const conn = this.#conn!;
    const s2s = this.services.config.s2s;
    if (!conn.tls) {
      if (s2s.requireEncryption) {
        throw new NegotiationError(
          "policy",
          "the remote server does not offer TLS and s2s.requireEncryption is on",
        );
      }
      if (s2s.requireValidCertificates) {
        throw new NegotiationError(
          "certificate",
          "the remote server does not offer TLS, so no certificate, and " +
            "s2s.requireValidCertificates is on",
          "no TLS, so no certificate",
        );
      }
      return;
    }
    const verdict = this.services.anchors.verify(conn.tls.peerChain, this.remote);
    if (!verdict.ok && s2s.requireValidCertificates) {
      throw new NegotiationError(
        "certificate",
        `its certificate is not valid (${verdict.reason}) and s2s.requireValidCertificates is on`,
        verdict.reason,
      );
    }
  }

  /** Queued db:verify requests go out once the stream meets the policy. */
  #allowVerify(): void {
    if (this.#canVerify) return;
    this.#canVerify = true;
    for (const request of this.#verifyQueue.splice(0)) this.#conn!.write(serialize(request));
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
      throw new NegotiationError(
        "auth",
        "no authentication method in common (neither SASL EXTERNAL with our certificate nor dialback)",
      );
    }
    if (!this.services.config.s2s.allowDialback) {
      throw new NegotiationError("auth", "only dialback is offered and s2s.allowDialback is off");
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
    this.#tlsStarting = true;
    try {
      await conn.startTlsClient!({
        servername: this.remote,
        cert: cert.certPem,
        key: cert.keyPem,
      });
    } catch (err) {
      throw new NegotiationError("tls", `TLS handshake failed: ${(err as Error)?.message ?? err}`);
    } finally {
      this.#tlsStarting = false;
    }
    this.#sendHeader();
  }

  #restart(): void {
    this.#input!.reset();
    this.#sendHeader();
  }

  #onDbResult(result: Element): void {
    if (result.attrs.from !== this.remote) return;
    const extra = this.#extra.get(result.attrs.to ?? "");
    if (extra) return this.#onPiggybackResult(result.attrs.to!, extra, result);
    if (result.attrs.to !== this.local || this.#ready) return;
    const type = result.attrs.type;
    if (type === "valid") {
      log.info("{local} → {remote}: authenticated by dialback", this.#names());
      return this.#becomeReady();
    }
    const cond = result.getChild("error")?.getChildren()[0]?.name;
    throw new NegotiationError(
      "dialback",
      type === "invalid"
        ? "it refused our dialback key"
        : `it answered our dialback request with an error${cond ? ` <${cond}/>` : ""}`,
      type === "invalid" ? undefined : cond,
    );
  }

  #onPiggybackResult(local: string, extra: Piggyback, result: Element): void {
    if (extra.valid) return;
    clearTimeout(extra.timer);
    if (result.attrs.type === "valid") {
      extra.valid = true;
      log.info("{extra} → {remote}: authenticated by dialback on {local}'s stream", {
        ...this.#names(),
        extra: local,
      });
      // Behind whatever the stream still has to flush, paced like it.
      for (const q of extra.queue.splice(0)) this.#queue.push(q);
      void this.#pump();
      return;
    }
    log.info("{extra} → {remote}: refused on {local}'s stream ({type}), connecting on its own", {
      ...this.#names(),
      extra: local,
      type: result.attrs.type ?? "?",
    });
    this.#extra.delete(local);
    this.events.onPiggybackFailed(local, this.#takeExtra(extra), true);
  }

  #becomeReady(): void {
    if (this.#ready) return;
    this.#ready = true;
    clearTimeout(this.#connectTimer);
    this.#lastActivity = Date.now();
    void this.#pump();
    this.#armIdle();
  }

  #armIdle(): void {
    const idleMs = this.services.config.s2s.idleTimeoutSeconds * 1000;
    const due = this.#lastActivity + idleMs - Date.now();
    this.#idleTimer = setTimeout(() => {
      if (Date.now() - this.#lastActivity >= idleMs && this.#verifies.size === 0) {
        log.debug("{local} → {remote}: idle, closing", this.#names());
        this.close();
      } else this.#armIdle();
    }, Math.max(due, 1000));
  }

  // ---- ending -----------------------------------------------------------------------

  /** A thrown error: its own kind if it is a NegotiationError, else `kind`. */
  #failWith(err: unknown, kind: FailureKind): void {
    if (err instanceof NegotiationError) return this.#fail(err.kind, err.message, err.detail);
    this.#fail(kind, String((err as Error)?.message ?? err));
  }

  #fail(kind: FailureKind, reason: string, detail?: string): void {
    if (this.#closed) return;
    if (this.#ready) {
      // What is still queued is bounced as undelivered (#finish); the next stanza opens a new stream.
      log.info("{local} → {remote}: stream ended: {reason}", { ...this.#names(), reason });
      return this.close();
    }
    const queued = this.#takeQueued();
    if (kind === "shutdown") {
      log.info("{local} → {remote}: abandoned: {reason}", { ...this.#names(), reason });
    } else {
      log.warn(
        "cannot federate {local} → {remote}: {reason}. {remedy}",
        { ...this.#names(), reason, remedy: failureRemedy(kind, this.remote, detail) },
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
    this.#abortAttempt?.();
    this.#input?.stop();
    for (const waiter of this.#verifies.values()) waiter("error");
    this.#verifies.clear();
    this.events.onClosed();
    // Written and not taken by the kernel, then never written (the pump's rest), oldest first.
    const lost = [...this.#unsent?.take() ?? [], ...this.#takeQueued()];
    if (lost.length !== 0) {
      this.events.onUndelivered(lost, "the remote server is not reading its stream");
    }
    // Domains still waiting to join: their stanzas were never sent.
    for (const [local, extra] of this.#extra) {
      clearTimeout(extra.timer);
      if (!extra.valid) this.events.onPiggybackFailed(local, this.#takeExtra(extra), false);
    }
    this.#extra.clear();
  }
}

/** Which failure the log and bounce report when every attempt failed differently. */
const FAILURE_PRECEDENCE: FailureKind[] = ["tls", "timeout", "closed", "connect", "dns"];

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** Error codes of a failed name lookup (node:net). */
const DNS_ERRORS = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_NODATA", "EAI_FAIL"]);

/**
 * What the administrator can do about a failure, for the log line.
 * `detail`: the certificate's problem, or the peer's stream error condition.
 */
function failureRemedy(kind: FailureKind, remote: string, detail?: string): string {
  switch (kind) {
    case "dns":
      return `Check DNS for ${remote}: its _xmpp-server._tcp / _xmpps-server._tcp SRV records, ` +
        `or A/AAAA records for port 5269 (or add an s2s.hosts route for ${remote}).`;
    case "connect":
      return `Nothing accepted the connection: check that ${remote}'s SRV record (or s2s.hosts ` +
        "route) names the right host and port, that its server is running, and that no " +
        "firewall blocks the port.";
    case "timeout":
      return `Check that ${remote}'s server is up and reachable on its s2s port, or raise ` +
        "s2s.connectTimeoutSeconds.";
    case "tls":
      return `The TLS handshake with ${remote} failed: check that its s2s port speaks TLS as ` +
        "its SRV record says (direct TLS or STARTTLS), that both sides share a TLS version and " +
        "cipher, and that our own certificate and key load.";
    case "certificate":
      return `${remote}'s certificate is not acceptable (${detail ?? "invalid"}): it needs one ` +
        `from a trusted CA that names ${remote}; add a private CA to s2s.caFile, or turn ` +
        "s2s.requireValidCertificates off to accept dialback instead.";
    case "policy":
      return `${remote} does not offer TLS: its administrator must enable TLS for s2s; turning ` +
        "s2s.requireEncryption off here would send everything in the clear.";
    case "auth":
      return `We share no way to authenticate with ${remote}: SASL EXTERNAL needs our ` +
        "certificate to be valid for our domain (from a CA it trusts); dialback needs " +
        "s2s.allowDialback on here and offered there.";
    case "dialback":
      return `${remote} could not verify our dialback key with us: check that our s2s port is ` +
        "reachable from it and that DNS (SRV or A/AAAA) for our domain points at this server.";
    case "stream-error":
      return `${remote} closed the stream with <${detail ?? "undefined-condition"}/>: its ` +
        "server's logs say why (often its certificate or dialback policy, or a host it does " +
        "not serve).";
    case "closed":
      return `${remote}'s server ended the negotiation without saying why: check that an XMPP ` +
        "server listens on that port; its logs may say more.";
    case "shutdown":
      return "";
  }
}
