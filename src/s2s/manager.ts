/**
 * Federation state of one running server: the outgoing stream of each
 * (local domain, remote domain) pair, the incoming streams, the dialback
 * secret and the trusted CAs. Stanzas for remote domains come here (from
 * the s2s module); stanzas that cannot be delivered are bounced to their
 * local sender with remote-server-not-found or remote-server-timeout.
 * An incoming stream the peer made bidirectional (XEP-0288) also carries
 * our stanzas for the pairs it authenticated, so no second connection is
 * opened for them. Likewise a hosted domain with no stream of its own to a
 * remote joins a live one another hosted domain has there (piggybacking,
 * XEP-0220 §2.4): both pairs then map to that stream. Outgoing streams are
 * bounded (s2s.maxOutgoingStreams): a peer's dialback checks name the
 * domains they connect to.
 */
import type { Config } from "../config/schema.ts";
import type { Host } from "../core/host.ts";
import type { Router } from "../core/router.ts";
import { StanzaError, StreamError } from "../core/errors.ts";
import type { SecureContexts } from "../net/secure_contexts.ts";
import type { Element } from "../xml/element.ts";
import { parseJid } from "../jid.ts";
import { type FailureKind, S2sOutStream } from "../stream/s2s_out.ts";
import type { BidiRoute, IncomingS2sLink, S2sInServices } from "../stream/s2s_in.ts";
import type { DialbackVerdict } from "./common.ts";
import type { TrustAnchors } from "./cert_verify.ts";
import { DialbackKeys } from "./dialback_key.ts";
import { logger } from "../log.ts";
import { OncePerWindow } from "../util/once_per_window.ts";

const log = logger("s2s");

/** One outgoing (local, remote) pair, as `links()` shows it. */
export interface S2sOutLinkInfo {
  local: string;
  remote: string;
  /** Authenticated and carrying stanzas (false while connecting). */
  ready: boolean;
  /** Piggybacked on another hosted domain's stream (XEP-0220 §2.4). */
  shared: boolean;
}

export class S2sManager implements S2sInServices {
  readonly keys = new DialbackKeys();
  readonly incoming = new Set<IncomingS2sLink>();
  /** Per "local remote" pair; piggybacked pairs share their host stream. */
  readonly #out = new Map<string, S2sOutStream>();
  /**
   * Pairs the peer refused to take on a shared stream: they get streams of their own,
   * until that stream closes (a later attempt may piggyback again).
   */
  readonly #ownStream = new Set<string>();
  /** Incoming streams usable for sending, per "local remote" pair (XEP-0288). */
  readonly #bidi = new Map<string, BidiRoute>();
  /** Stanza bytes queued over all outgoing streams (s2s.maxQueuedBytesTotal). */
  readonly queued = { bytes: 0 };
  /** Dialback checks in flight for incoming streams (s2s.maxPendingDialbackChecks). */
  #dialbackChecks = 0;
  /** "Too many streams" warnings, at most one line per window. */
  readonly #fullLog = new OncePerWindow();
  /** Set by `abandonPending`: shutting down, no new outgoing streams. */
  #closing = false;

  constructor(
    readonly config: Config,
    readonly hosts: Map<string, Host>,
    readonly router: Router,
    readonly tls: SecureContexts,
    readonly anchors: TrustAnchors,
  ) {}

  /**
   * Send `stanza` from `local` (a hosted domain or a component's: the
   * stream is authenticated as that domain) to `remote`, connecting if needed.
   */
  send(local: string, remote: string, stanza: Element): void {
    const id = local + " " + remote;
    const out = this.#out.get(id);
    const bidi = this.#bidi.get(id);
    // A live outgoing stream keeps the pair's stanzas (queued ones too) in order on
    // one connection; the peer's bidirectional stream serves only when there is none.
    if ((!out || out.closed) && bidi && !bidi.closed) return bidi.send(stanza);
    if (this.#closing && !out?.ready) return; // e.g. unavailable presence of sessions closed at shutdown
    if (!out || out.closed) {
      const shared = this.#piggybackable(local, remote);
      if (shared?.piggyback(local)) {
        this.#out.set(id, shared);
        return shared.sendAs(local, stanza);
      }
    }
    const stream = this.#stream(local, remote);
    if (!stream) return this.#tooManyStreams(local, remote, [stanza]);
    stream.sendAs(local, stanza);
  }

  /** A live authenticated stream to `remote` that `local` may join, if any. */
  #piggybackable(local: string, remote: string): S2sOutStream | undefined {
    if (this.#ownStream.has(local + " " + remote)) return undefined;
    for (const stream of this.#out.values()) {
      if (stream.remote === remote && stream.local !== local && stream.canPiggyback) {
        return stream;
      }
    }
    return undefined;
  }

  addBidiRoute(local: string, remote: string, route: BidiRoute): void {
    this.#bidi.set(local + " " + remote, route);
  }

  removeBidiRoutes(route: BidiRoute): void {
    for (const [id, r] of this.#bidi) if (r === route) this.#bidi.delete(id);
  }

  /** The incoming stream that carries a pair's stanzas (XEP-0288), if any. */
  bidiRoute(local: string, remote: string): BidiRoute | undefined {
    return this.#bidi.get(local + " " + remote);
  }

  /** Hosted domains and external components' (and their subdomains). */
  isLocalDomain(domain: string): boolean {
    return this.router.isLocalDomain(domain);
  }

  verifyDialback(
    receiving: string,
    originating: string,
    streamId: string,
    key: string,
  ): Promise<DialbackVerdict> | undefined {
    // Each check may cost a DNS lookup and a connection to a domain a peer chose: the
    // per-stream cap alone would let many streams multiply them.
    if (this.#dialbackChecks >= this.config.s2s.maxPendingDialbackChecks) return undefined;
    // A peer names the domain: each new one would cost a stream (s2s.maxOutgoingStreams).
    if (!this.#live(receiving, originating) && !this.#roomForStream()) return undefined;
    this.#dialbackChecks++;
    return this.#verifyOnce(receiving, originating, streamId, key, true)
      .finally(() => this.#dialbackChecks--);
  }

  /**
   * One db:verify over the pair's outgoing stream. If that stream ended
   * before the answer came (it was closing as idle, or the peer closed its
   * end as idle while our request crossed it), ask once more on a fresh
   * stream: the race is normal between two servers, not a verdict.
   */
  async #verifyOnce(
    receiving: string,
    originating: string,
    streamId: string,
    key: string,
    retry: boolean,
  ): Promise<DialbackVerdict> {
    const stream = this.#stream(receiving, originating);
    if (!stream) return "error"; // the retry found no room for a new stream
    const verdict = await stream.verify(streamId, key, receiving);
    if (verdict !== "error" || !retry || !stream.closed || this.#closing) return verdict;
    log.debug("{local} → {remote}: stream ended before the db:verify answer; asking again", {
      local: receiving,
      remote: originating,
    });
    return this.#verifyOnce(receiving, originating, streamId, key, false);
  }

  /** Outgoing streams, connecting or established (pairs piggybacked on one count once): metrics. */
  get outgoingStreams(): number {
    return new Set(this.#out.values()).size;
  }

  /** The live outgoing stream of a pair, if any (tests and diagnostics). */
  outgoing(local: string, remote: string): S2sOutStream | undefined {
    return this.#out.get(local + " " + remote);
  }

  /**
   * A read-only snapshot of the links (status page): each outgoing pair
   * with whether its stream is authenticated, and each incoming stream's
   * authenticated remote domains.
   */
  links(): { outgoing: S2sOutLinkInfo[]; incoming: string[][] } {
    const outgoing: S2sOutLinkInfo[] = [];
    for (const [id, stream] of this.#out) {
      if (stream.closed) continue;
      const [local, remote] = id.split(" ");
      outgoing.push({ local, remote, ready: stream.ready, shared: stream.local !== local });
    }
    return { outgoing, incoming: [...this.incoming].map((s) => [...s.remoteDomains]) };
  }

  /**
   * Shutdown, first step: streams still connecting will never carry their
   * queue, so its stanzas are bounced now, while their senders are still
   * connected to hear it; no new streams are opened from here on.
   */
  abandonPending(reason: string): void {
    this.#closing = true;
    for (const stream of [...this.#out.values()]) stream.abandon(reason);
  }

  closeAll(error: StreamError): void {
    for (const stream of [...this.#out.values()]) stream.close(error);
    for (const stream of [...this.incoming]) stream.close(error);
  }

  /** The pair's live outgoing stream, if any. */
  #live(local: string, remote: string): S2sOutStream | undefined {
    const stream = this.#out.get(local + " " + remote);
    return stream && !stream.closed ? stream : undefined;
  }

  #roomForStream(): boolean {
    return this.outgoingStreams < this.config.s2s.maxOutgoingStreams;
  }

  /** No stream for the pair and no room for one: its stanzas wait for nothing. */
  #tooManyStreams(local: string, remote: string, stanzas: Element[]): void {
    const silent = this.#fullLog.note("full");
    if (silent !== undefined) {
      log.warn(
        "{local} → {remote}: s2s.maxOutgoingStreams ({max}) streams are open; bouncing its " +
          "stanzas with resource-constraint ({silent} more such bounces since the last line)",
        { local, remote, max: this.config.s2s.maxOutgoingStreams, silent },
      );
    }
    const error = new StanzaError(
      "wait",
      "resource-constraint",
      "Too many server-to-server streams",
    );
    this.#bounceWith(local, stanzas, error);
  }

  /** The pair's live stream, else a new one if there is room (s2s.maxOutgoingStreams). */
  #stream(local: string, remote: string): S2sOutStream | undefined {
    const id = local + " " + remote;
    let stream = this.#live(local, remote);
    if (stream) return stream;
    if (!this.#roomForStream()) return undefined;
    const created: S2sOutStream = new S2sOutStream(local, remote, this, {
      onFail: (queued, kind, reason) => this.#bounce(local, queued, kind, reason),
      // Written, never read by the peer: bounced like a stream that timed out.
      onUndelivered: (stanzas, reason) => this.#bounce(local, stanzas, "timeout", reason),
      // RFC 6120 §8.3.3.18: this server lacks the resources (queue space) for it right now,
      // which says "try later" (wait); remote-server-timeout would blame a peer we may
      // still reach, remote-server-not-found one that may well exist.
      onQueueFull: (from, stanza) =>
        this.#bounceWith(
          from,
          [stanza],
          new StanzaError("wait", "resource-constraint", `Too many stanzas waiting for ${remote}`),
        ),
      onClosed: () => {
        for (const [pair, s] of this.#out) if (s === created) this.#out.delete(pair);
        this.#ownStream.delete(id);
      },
      onPiggybackFailed: (other, queued, refused) => {
        const pair = other + " " + remote;
        if (this.#out.get(pair) === created) this.#out.delete(pair);
        if (this.#closing) return this.#bounce(other, queued, "shutdown", "server shutting down");
        // Only the peer's no is remembered: a shared stream that merely ended (or a db:result
        // it never answered) says nothing about the next attempt.
        if (refused) this.#ownStream.add(pair);
        if (queued.length === 0) return;
        const own = this.#stream(other, remote);
        if (!own) return this.#tooManyStreams(other, remote, queued);
        for (const stanza of queued) own.sendAs(other, stanza);
      },
    });
    stream = created;
    this.#out.set(id, stream);
    stream.start();
    return stream;
  }

  #bounce(local: string, queued: Element[], kind: FailureKind, reason: string): void {
    const error = kind === "timeout" || kind === "shutdown"
      ? new StanzaError("wait", "remote-server-timeout", reason)
      : new StanzaError("cancel", "remote-server-not-found", reason);
    this.#bounceWith(local, queued, error);
  }

  #bounceWith(local: string, queued: Element[], error: StanzaError): void {
    // A component's domain has no host of its own: the bounce is routed like any stanza.
    const host = this.hosts.get(local) ?? this.hosts.values().next().value;
    if (!host) return;
    for (const stanza of queued) {
      // RFC 6120 §8.2.3: an iq result or error is never answered (errors aren't, below).
      if (stanza.name === "iq" && stanza.attrs.type === "result") continue;
      const to = stanza.attrs.to === undefined ? undefined : parseJid(stanza.attrs.to);
      this.router.replyError({ origin: undefined, stanza, to, host }, error);
    }
  }
}

/** The manager serving each host, for the s2s module (which sees only its host). */
const managers = new WeakMap<Host, S2sManager>();

export function attachS2sManager(manager: S2sManager): void {
  for (const host of manager.hosts.values()) managers.set(host, manager);
}

export function s2sManagerOf(host: Host): S2sManager | undefined {
  return managers.get(host);
}
