/**
 * Stream management for one host (XEP-0198): enabling, acks both ways,
 * ack requests by count and by time, hibernation and resumption. Works on
 * sessions and SessionDrivers only, so a session resumes over any
 * transport (TCP, WebSocket) whatever carried it before.
 */
import type { ModuleApi } from "../../core/module_api.ts";
import { StreamError } from "../../core/errors.ts";
import type { Session } from "../../core/session.ts";
import type { C2sStream } from "../../stream/c2s.ts";
import type { Element } from "../../xml/element.ts";
import { randomId } from "../../util/random.ts";
import { ack, enabled, failed, handledCountTooHigh, parseH, REQUEST, resumed } from "./protocol.ts";
import { SM, type SmPolicy, SmState, smState } from "./state.ts";
import { Sweeper } from "./sweeper.ts";
import { handleUnacked } from "./undeliverable.ts";

/** Resumption ids: 24 characters of 6 bits, 144 bits from the CSPRNG. */
const ID_LENGTH = 24;
/** The sweep runs at least this often, and at most this often. */
const MAX_SWEEP_MS = 1000;
const MIN_SWEEP_MS = 50;

export class SmManager implements SmPolicy {
  /** Sessions that may be resumed, by id; a session leaves it when destroyed. */
  readonly #resumable = new Map<string, SmState>();
  readonly #sweeper: Sweeper<SmState>;
  readonly #requestEvery: number;
  readonly #requestMs: number;
  readonly #defaultTimeout: number;
  readonly #maxTimeout: number;
  readonly #maxUnacked: number;

  constructor(readonly api: ModuleApi) {
    const sm = api.config.sm;
    this.#requestEvery = sm.requestAckEvery;
    this.#requestMs = sm.requestAckSeconds * 1000;
    this.#defaultTimeout = Math.min(sm.resumeTimeoutSeconds, sm.maxResumeTimeoutSeconds);
    this.#maxTimeout = sm.maxResumeTimeoutSeconds;
    this.#maxUnacked = sm.maxUnackedStanzas;
    const times = [this.#requestMs, this.#defaultTimeout * 1000].filter((t) => t > 0);
    const period = Math.max(MIN_SWEEP_MS, Math.min(MAX_SWEEP_MS, ...times.map((t) => t / 4)));
    this.#sweeper = new Sweeper(period, (state, now) => this.#visit(state, now));
  }

  get resumptionOn(): boolean {
    return this.#defaultTimeout > 0;
  }

  /** Hibernating sessions and sessions awaiting acks (tests, stats). */
  get watched(): number {
    return this.#sweeper.size;
  }

  // ---- enable (XEP-0198 §3) --------------------------------------------------

  enable(session: Session, element: Element, stream: C2sStream): void {
    session.send(this.enableReply(session, element, stream));
  }

  /** Enables and returns the answer (`<enabled/>` or `<failed/>`), sent by the caller or inline in Bind2. */
  enableReply(session: Session, element: Element, stream: C2sStream): Element {
    // §3: only after binding, and once per session.
    if (session.fullJid === undefined || smState(session)) return failed("unexpected-request");
    // BOSH has its own acks (XEP-0124 §9); XEP-0206 streams do not use these.
    if (stream.transport.kind === "bosh") return failed("feature-not-implemented");
    const resume = element.attrs.resume === "true" || element.attrs.resume === "1";
    const asked = parseH(element.attrs.max);
    const timeout = asked !== undefined && asked > 0
      ? Math.min(asked, this.#maxTimeout)
      : this.#defaultTimeout;
    // Without resumption configured, acks only (§5: no resume in <enabled/>).
    const id = resume && this.resumptionOn && timeout > 0 ? randomId(ID_LENGTH) : undefined;
    const state = new SmState(session, this, id, timeout);
    session.ext.set(SM, state);
    session.received = 0;
    session.outbox.enableAcks(state);
    if (id !== undefined) this.#resumable.set(id, state);
    return enabled(id, timeout);
  }

  // ---- acks (XEP-0198 §4) ------------------------------------------------------

  /** The client asks how many of its stanzas we handled. */
  request(session: Session): void {
    session.send(ack(session.received));
  }

  /** The client says how many of ours it handled. */
  acknowledged(state: SmState, element: Element): void {
    const h = parseH(element.attrs.h);
    if (h === undefined) throw new StreamError("bad-format", "<a/> needs an h of 0 to 2^32-1");
    this.#ack(state.session, h);
    state.requestedAt = 0;
    this.#afterAck(state, Date.now());
  }

  #ack(session: Session, h: number): void {
    const outbox = session.outbox;
    if (outbox.ack(h) === "too-high") throw handledCountTooHigh(h, outbox.keptCount);
  }

  #afterAck(state: SmState, now: number): void {
    const unacked = state.session.outbox.unackedCount;
    if (unacked === 0) {
      state.unackedSince = 0;
      if (state.expiresAt === 0) this.#sweeper.delete(state);
      return;
    }
    state.unackedSince = now;
    if (unacked >= this.#requestEvery) this.#requestAck(state, now);
  }

  /** Outbox: a stanza was kept for acks (from inside `send`: nothing here may wait). */
  kept(state: SmState, unacked: number): void {
    if (state.ending) return;
    const session = state.session;
    if (unacked > this.#maxUnacked) {
      state.ending = true;
      // Outside the routing loop that is sending.
      queueMicrotask(() => this.#overflowed(state));
      return;
    }
    if (unacked === 1) {
      state.unackedSince = Date.now();
      if (this.#requestMs > 0) this.#sweeper.add(state);
    }
    if (session.driver && state.requestedAt === 0 && unacked >= this.#requestEvery) {
      this.#requestAck(state, Date.now());
    }
  }

  #requestAck(state: SmState, now: number): void {
    const session = state.session;
    if (!session.driver || session.destroyed) return;
    state.requestedAt = now;
    session.send(REQUEST);
  }

  #overflowed(state: SmState): void {
    const session = state.session;
    if (session.destroyed) return;
    this.api.log.warn("{jid}: more than {max} stanzas unacknowledged; ending the session", {
      jid: session.fullJid,
      max: this.#maxUnacked,
    });
    this.api.endSession(
      session,
      new StreamError("resource-constraint", "Too many unacknowledged stanzas"),
    );
  }

  // ---- hibernation ---------------------------------------------------------------

  /**
   * The session's stream is gone: keep it for `timeoutSeconds` when it
   * may be resumed. True when kept (session-disconnected).
   */
  hibernate(session: Session): boolean {
    const state = smState(session);
    if (!state || state.id === undefined || state.ending) return false;
    session.hibernating = true;
    state.requestedAt = 0;
    state.expiresAt = Date.now() + state.timeoutSeconds * 1000;
    this.#sweeper.add(state);
    this.api.log.info("{jid}: connection lost; waiting {s} s for it to resume", {
      jid: session.fullJid,
      s: state.timeoutSeconds,
    });
    return true;
  }

  #visit(state: SmState, now: number): void {
    const session = state.session;
    if (session.destroyed) return this.#sweeper.delete(state);
    if (state.expiresAt !== 0) {
      if (now < state.expiresAt) return;
      this.api.log.info("{jid}: not resumed in time; ending the session", {
        jid: session.fullJid,
      });
      // resource-unbind (ended) takes it out of the sweep.
      this.api.endSession(
        session,
        new StreamError("connection-timeout", "Not resumed in time"),
      );
      return;
    }
    if (state.unackedSince === 0 || session.outbox.unackedCount === 0) {
      state.unackedSince = 0;
      return this.#sweeper.delete(state);
    }
    // By time: even with a request outstanding, but not more often than this.
    if (
      now - state.unackedSince >= this.#requestMs &&
      (state.requestedAt === 0 || now - state.requestedAt >= this.#requestMs)
    ) this.#requestAck(state, now);
  }

  // ---- resumption (XEP-0198 §5) -------------------------------------------------

  resume(vehicle: Session, element: Element, stream: C2sStream): void {
    const { reply, resend } = this.resumeReply(vehicle, element, stream);
    stream.session.send(reply);
    resend?.();
  }

  /**
   * Resumes and returns the answer (`<resumed/>` or `<failed/>`) and, when
   * resumed, what must run once the answer is sent (the resend). SASL2
   * puts the answer inside its `<success/>` (XEP-0388 inline).
   */
  resumeReply(
    vehicle: Session,
    element: Element,
    stream: C2sStream,
  ): { reply: Element; resend?: () => void } {
    // §5: after authentication, before binding (a bound stream has its own session).
    if (vehicle.fullJid !== undefined) return { reply: failed("unexpected-request") };
    if (!this.resumptionOn || stream.transport.kind === "bosh") {
      return { reply: failed("feature-not-implemented") };
    }
    const previd = element.attrs.previd;
    const h = parseH(element.attrs.h);
    if (previd === undefined || h === undefined) return { reply: failed("bad-request") };
    const state = this.#resumable.get(previd);
    const session = state?.session;
    // Another account's id is as unknown as a made-up one: nothing leaks.
    if (
      !state || !session || session.destroyed || state.ending ||
      session.username !== vehicle.username || session.host !== vehicle.host
    ) {
      // Debug: a client may retry at will, and a log line costs the operator's disk.
      this.api.log.debug("{user}: resumption of an unknown or expired session refused", {
        user: vehicle.bareJid,
      });
      return { reply: failed("item-not-found") };
    }
    // Before anything changes: a bad h ends only the new stream.
    this.#ack(session, h);
    // Half-open: the old stream still drives it. It ends; the session stays.
    const old = session.driver;
    if (old) {
      session.detach();
      old.close(new StreamError("conflict", "The session was resumed on another connection"));
    }
    state.expiresAt = 0;
    state.requestedAt = 0;
    stream.adopt(session);
    session.notopen = false;
    this.api.log.info("{jid}: resumed ({n} stanzas to resend)", {
      jid: session.fullJid,
      n: session.outbox.unackedCount,
    });
    const resend = () => {
      session.outbox.resend();
      const now = Date.now();
      if (session.outbox.unackedCount > 0) {
        state.unackedSince = now;
        // Learn soon what the client got of the resent stanzas.
        this.#requestAck(state, now);
        if (this.#requestMs <= 0) this.#sweeper.delete(state);
      } else {
        state.unackedSince = 0;
        this.#sweeper.delete(state);
      }
    };
    return { reply: resumed(previd, session.received), resend };
  }

  // ---- the end ---------------------------------------------------------------------

  /** The session was destroyed (resource-unbind): forget it; its unacked stanzas are undeliverable. */
  ended(session: Session): void {
    const state = smState(session);
    if (!state) return;
    this.#sweeper.delete(state);
    if (state.id !== undefined) this.#resumable.delete(state.id);
    state.expiresAt = 0;
    handleUnacked(this.api, session, session.outbox.takeUnacked());
  }
}
