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
 *
 * This class coordinates; each job lives in src/s2s/out/: connect.ts
 * (targets, address attempts, TCP/TLS), link.ts (one connection on the
 * stream core: frame wiring, our header per (re)start, the close
 * sequence, the idle watch), negotiator.ts (the negotiation
 * state machine), policy.ts (security policy and authentication
 * choices), dialback.ts (db:verify requests, joined domains), queue.ts
 * (bounded queue and pump), failure.ts (failure kinds and the log's
 * remedies).
 */
import type { Config } from "../config/schema.ts";
import type { Connection } from "../net/connection.ts";
import type { SecureContexts } from "../net/secure_contexts.ts";
import type { TrustAnchors } from "../s2s/cert_verify.ts";
import type { DialbackKeys } from "../s2s/dialback_key.ts";
import { systemResolver, type Target } from "../s2s/resolve.ts";
import type { DialbackVerdict } from "../s2s/common.ts";
import type { Router } from "../core/router.ts";
import { StreamError } from "../core/errors.ts";
import { parseJid } from "../jid.ts";
import { el, type Element, serialize } from "../xml/element.ts";
import { UnsentTracker } from "../net/unsent_tracker.ts";
import { InFlight, MAX_STANZAS_IN_FLIGHT } from "./in_flight.ts";
import { S2sOutLink } from "../s2s/out/link.ts";
import {
  attemptAddress,
  openConnection,
  type S2sConnectHooks,
  walkTargets,
} from "../s2s/out/connect.ts";
import { type FailureKind, failureRemedy, NegotiationError } from "../s2s/out/failure.ts";
import { JoinedDomains, type Piggyback, VerifyRequests } from "../s2s/out/dialback.ts";
import { OutQueue } from "../s2s/out/queue.ts";
import { OutNegotiator } from "../s2s/out/negotiator.ts";
import { logger } from "../log.ts";

export type { FailureKind } from "../s2s/out/failure.ts";
export type { S2sConnectHooks } from "../s2s/out/connect.ts";

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

export class S2sOutStream {
  /** The live connection (none while connecting). */
  #link: S2sOutLink | undefined;
  /** Stanzas written to the authenticated stream and not yet flushed: an overflow bounces them. */
  #unsent: UnsentTracker<Element> | undefined;
  /** Stanzas not yet written (see OutQueue). */
  #queue: OutQueue;
  /** The queue was found full once: logged once per stream, not once per bounce. */
  #queueFullLogged = false;
  #ready = false;
  #closed = false;
  /** Header, features, STARTTLS, SASL EXTERNAL, dialback, bidi (OutNegotiator). */
  #negotiation: OutNegotiator;
  #verifies = new VerifyRequests();
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  /** What was tried and how it failed, for the log line if nothing works. */
  #tried: string[] = [];
  /** The address being tried now, for that log line. */
  #trying: string | undefined;
  /** While an address is being tried: ends that attempt (see attemptAddress). */
  #abortAttempt: (() => void) | undefined;
  /** Connected, waiting for the peer's first data: called with it (or with why not). */
  #pendingAnswer: ((err?: Error) => void) | undefined;
  /** Hosted domains besides `local` that asked to send on this stream. */
  #extra = new JoinedDomains();
  /** The peer's stanzas in the works (XEP-0288), as on an incoming stream. */
  #inFlight = new InFlight(4 * MAX_STANZAS_IN_FLIGHT);

  constructor(
    readonly local: string,
    readonly remote: string,
    readonly services: S2sOutServices,
    readonly events: S2sOutEvents,
  ) {
    this.#queue = new OutQueue(() => services.config.s2s, services.queued);
    this.#negotiation = new OutNegotiator({
      local,
      remote,
      services,
      link: () => this.#link!,
      ready: () => this.#ready,
      becomeReady: () => this.#becomeReady(),
      allowVerify: () => this.#verifies.allow((data) => this.#link!.send(data)),
      verifyAnswered: (id, verdict) => this.#verifies.answer(id, verdict),
      joinedResult: (result) => this.#joinedResult(result),
      peerStanza: (stanza) => this.#onPeerStanza(stanza),
      close: () => this.close(),
    });
  }

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
    if (this.#ready && this.#queue.drained) {
      this.#link!.touch();
      this.#writeStanza(stanza, serialize(stanza));
    } else this.#enqueue(this.#queue.main, local, stanza);
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
   * Queue `stanza` (from `local`) on `queue` within the bounds (OutQueue);
   * past either the stanza is bounced at once.
   */
  #enqueue(queue: Piggyback["queue"], local: string, stanza: Element): void {
    const data = serialize(stanza);
    const room = this.#queue.room(data.length);
    if (room !== "ok") {
      // The stream is up and its own queue still grows: the peer does not read what the
      // pump writes (it waits on `writable`), as when the output mark is passed.
      if (room === "stream" && this.#ready && queue === this.#queue.main) {
        this.#queue.add(queue, { stanza, data });
        return this.#notReading(false);
      }
      if (!this.#queueFullLogged) {
        this.#queueFullLogged = true;
        log.warn(
          "{local} → {remote}: {bytes} bytes of stanzas already wait for the stream " +
            "({total} for all streams); bouncing more with resource-constraint",
          { ...this.#names(), bytes: this.#queue.bytes, total: this.services.queued.bytes },
        );
      }
      return this.events.onQueueFull(local, stanza);
    }
    this.#queue.add(queue, { stanza, data });
  }

  /**
   * The peer stopped reading (its output passed the mark, or the queue grew
   * while being flushed): the stream is closed and what the peer did not take
   * is bounced as undelivered (#finish). `fromWrite`: called from inside a
   * write, so the close waits a moment; the tracker stops at once, before the
   * connection drops its queue. The next stanza for the peer opens a new stream.
   */
  #notReading(fromWrite: boolean): void {
    this.#unsent!.stop();
    log.warn("{local} → {remote}: peer not reading its stream; closing", this.#names());
    const close = () =>
      this.close(new StreamError("resource-constraint", "Too much output waiting"));
    if (fromWrite) queueMicrotask(close);
    else close();
  }

  /** Flush the queue at the pace the connection takes it (OutQueue.pump). */
  #pump(): Promise<void> {
    const link = this.#link!;
    return this.#queue.pump(
      () => link.transport.writable(),
      // Closed meanwhile: #finish bounced what is left.
      () => !this.#closed && this.#link === link,
      (next) => {
        link.touch();
        this.#writeStanza(next.stanza, next.data);
      },
    );
  }

  /** A stanza onto the stream, tracked so that an output overflow bounces it. */
  #writeStanza(stanza: Element, data: string): void {
    const unsent = this.#unsent!;
    if (unsent.stopped) return unsent.keep(stanza);
    unsent.record(stanza, data.length);
    this.#link!.send(data);
  }

  /**
   * Can another hosted domain join this stream with a `<db:result/>`?
   * Authenticated, and the peer does dialback (its feature or, before 1.0,
   * its header), which our policy allows.
   */
  get canPiggyback(): boolean {
    if (!this.#ready || this.#closed || !this.services.config.s2s.allowDialback) return false;
    return this.#negotiation.peerDoesDialback;
  }

  /** The domains this stream sends from (its own and those that joined it). */
  get domains(): string[] {
    return [this.local, ...this.#extra.domains];
  }

  /**
   * Authenticate `local` too on this live stream (XEP-0220 §2.4): its
   * stanzas (`sendAs`) wait until the peer says valid. False: it cannot.
   */
  piggyback(local: string): boolean {
    if (local === this.local || this.#extra.has(local)) return true;
    if (!this.canPiggyback) return false;
    const seconds = this.services.config.s2s.connectTimeoutSeconds;
    this.#extra.add(local, seconds, (extra) => {
      log.info("{extra} → {remote}: no answer on {local}'s stream in {seconds} s, going alone", {
        ...this.#names(),
        extra: local,
        seconds,
      });
      this.events.onPiggybackFailed(local, this.#queue.takeFrom(extra.queue), false);
    });
    const key = this.services.keys.generate(this.remote, local, this.#negotiation.streamId);
    this.#link!.touch();
    this.#link!.send(el("db:result", { from: local, to: this.remote }, key));
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
    const seconds = this.services.config.s2s.connectTimeoutSeconds;
    const answer = this.#verifies.request(
      { streamId, key, from, to: this.remote },
      seconds,
      (data) => this.#link!.send(data),
      () =>
        log.info("{local} → {remote}: no answer to db:verify within {seconds} s", {
          ...this.#names(),
          seconds,
        }),
    );
    // A request out is activity, and the idle timer waits for its answer
    // (see #becomeReady): closing under it failed the peer's new stream.
    this.#link?.touch();
    return answer;
  }

  // ---- connecting ------------------------------------------------------------------

  #connect(): Promise<void> {
    const hooks = this.services.connect ?? {};
    const s2s = this.services.config.s2s;
    return walkTargets({
      remote: this.remote,
      routes: s2s.hosts,
      resolver: hooks.resolver ?? systemResolver,
      hooks,
      deadline: Date.now() + s2s.connectTimeoutSeconds * 1000,
      tried: this.#tried,
      closed: () => this.#closed,
      trying: (label) => this.#trying = label,
      attempt: (target, address, ms) => this.#attempt(target, address, ms),
      failed: (label, error) =>
        log.debug("{local} → {remote}: {label} failed: {error}", {
          ...this.#names(),
          label,
          error: error.message,
        }),
    });
  }

  /** One address: see attemptAddress. The peer's first data settles it (#attach). */
  #attempt(target: Target, address: string, ms: number): Promise<void> {
    return attemptAddress(ms, {
      open: () => {
        const cert = this.services.tls.certFor(this.local);
        return openConnection(target, address, {
          remote: this.remote,
          certPem: cert.certPem,
          keyPem: cert.keyPem,
        });
      },
      opened: (conn, answered) => {
        this.#pendingAnswer = (err) => {
          this.#pendingAnswer = undefined;
          answered(err);
        };
        this.#attach(conn);
      },
      abandoned: (conn) => {
        this.#pendingAnswer = undefined;
        // Stale from now on: its input and close are ignored (see #attach).
        if (conn && this.#link?.connection === conn) this.#link = undefined;
      },
      abortWith: (abort) => {
        this.#abortAttempt = abort;
        if (!abort) this.#pendingAnswer = undefined;
      },
    });
  }

  /** The connection is this stream's now: on the stream core, which sends our header. */
  #attach(conn: Connection): void {
    const link: S2sOutLink = new S2sOutLink(conn, this.local, this.remote, this.services.config, {
      opened: (attrs) => live() ? this.#negotiation.onOpen(attrs) : undefined,
      element: (e) => live() ? this.#negotiation.onElement(e) : undefined,
      peerClosed: () => live() && this.#negotiation.onPeerClose(),
      activity: () => {
        // The peer answered: this address is the one (see #attempt).
        if (live()) this.#pendingAnswer?.();
      },
      transportClosed: (error) => {
        if (!live()) return; // an attempt given up (see #attempt)
        if (this.#pendingAnswer) {
          return this.#pendingAnswer(
            new NegotiationError("closed", error?.message ?? "closed without answering"),
          );
        }
        if (!this.#ready) {
          this.#fail(
            this.#negotiation.tlsStarting ? "tls" : "closed",
            error ? error.message : "connection closed during negotiation",
          );
        } else this.#finish();
      },
      overflow: () => {
        if (live()) this.#notReading(true);
      },
      failed: (err) => {
        if (live()) this.#failWith(err, "closed");
      },
    });
    const live = () => this.#link === link;
    this.#link = link;
    this.#unsent = new UnsentTracker(conn);
    link.start();
  }

  // ---- after negotiation -------------------------------------------------------

  /**
   * XEP-0288 §2.2: once authenticated, the peer may send from its domain to
   * ours on this stream, and only that (the pair this stream proved).
   */
  #onPeerStanza(stanza: Element): void | Promise<void> {
    if (!this.#negotiation.bidi || !this.#ready) {
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
      return this.close(new StreamError("invalid-from", `Only ${this.remote} here`));
    }
    if (to?.domain !== this.local && !this.#extra.get(to?.domain ?? "")?.valid) {
      return this.close(new StreamError("improper-addressing", `Only ${this.local} here`));
    }
    this.#link!.touch();
    const accepted = this.services.router.fromPeer(stanza);
    // Bounded like an incoming stream's: past the limit the link stops reading.
    if (typeof accepted !== "boolean") return this.#inFlight.track(accepted);
  }

  #names() {
    return { local: this.local, remote: this.remote };
  }

  /** A db:result answer for a domain that joined the stream: true if it was one. */
  #joinedResult(result: Element): boolean {
    const local = result.attrs.to ?? "";
    const extra = this.#extra.get(local);
    if (!extra) return false;
    this.#onPiggybackResult(local, extra, result);
    return true;
  }

  #onPiggybackResult(local: string, extra: Piggyback, result: Element): void {
    if (extra.valid) return;
    const valid = result.attrs.type === "valid";
    this.#extra.settle(local, extra, valid);
    if (valid) {
      log.info("{extra} → {remote}: authenticated by dialback on {local}'s stream", {
        ...this.#names(),
        extra: local,
      });
      // Behind whatever the stream still has to flush, paced like it.
      this.#queue.moveIn(extra.queue);
      void this.#pump();
      return;
    }
    log.info("{extra} → {remote}: refused on {local}'s stream ({type}), connecting on its own", {
      ...this.#names(),
      extra: local,
      type: result.attrs.type ?? "?",
    });
    this.events.onPiggybackFailed(local, this.#queue.takeFrom(extra.queue), true);
  }

  #becomeReady(): void {
    if (this.#ready) return;
    this.#ready = true;
    clearTimeout(this.#connectTimer);
    const link = this.#link!;
    link.touch();
    void this.#pump();
    // Not idle while a db:verify of ours waits for its answer.
    link.watchIdle(this.services.config.s2s.idleTimeoutSeconds * 1000, () => {
      log.debug("{local} → {remote}: idle, closing", this.#names());
      this.close();
    }, () => this.#verifies.size !== 0);
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
    const queued = this.#queue.take();
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

  /** Close the stream (with an optional stream error: the core's close sequence) and forget it. */
  close(error?: StreamError): void {
    if (this.#closed) return;
    // Forget the stream first: the transport's close callback then finds it closed.
    this.#finish();
    this.#link?.close(error);
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#connectTimer);
    this.#abortAttempt?.();
    this.#verifies.failAll();
    this.events.onClosed();
    // Written and not taken by the kernel, then never written (the pump's rest), oldest first.
    const lost = [...this.#unsent?.take() ?? [], ...this.#queue.take()];
    if (lost.length !== 0) {
      this.events.onUndelivered(lost, "the remote server is not reading its stream");
    }
    // Domains still waiting to join: their stanzas were never sent.
    this.#extra.end((local, extra) =>
      this.events.onPiggybackFailed(local, this.#queue.takeFrom(extra.queue), false)
    );
  }
}
