/**
 * The BOSH session table: sid → session, with the limits on how many a
 * server and one address may have. A new session gets a `C2sStream`
 * over it, exactly as a new TCP connection does.
 */
import type { Config } from "../../config/schema.ts";
import { type C2sServices, C2sStream } from "../../stream/c2s.ts";
import { ConnectionLimiter } from "../../net/connection_limiter.ts";
import { logger } from "../../log.ts";
import { randomId } from "../../util/random.ts";
import { addressKey } from "../../net/address_key.ts";
import type { BoshBody } from "./body.ts";
import { BoshSession } from "./session.ts";
import type { TerminalCondition } from "./response.ts";

const log = logger("c2s", "bosh");

export interface PeerInfo {
  remoteAddress: string;
  /** HTTPS, or a loopback peer (a reverse proxy that terminated TLS). */
  secure: boolean;
}

export class BoshSessions {
  #sessions = new Map<string, BoshSession>();
  /**
   * The caps a TCP listener has, over BOSH sessions: in all, per IP, and
   * unauthenticated per IP (what costs an attacker nothing to open).
   */
  readonly #limiter: ConnectionLimiter;

  constructor(readonly services: C2sServices, readonly config: Config = services.config) {
    this.#limiter = new ConnectionLimiter({
      maxTotal: config.bosh.maxSessions,
      maxPerIp: config.bosh.maxSessionsPerIp,
      maxUnauthenticatedPerIp: config.c2s.maxUnauthenticatedPerIp,
    });
  }

  get size(): number {
    return this.#sessions.size;
  }

  get(sid: string): BoshSession | undefined {
    return this.#sessions.get(sid);
  }

  /** A session creation request (XEP-0124 §7.1): a new session, or why not. */
  create(body: BoshBody, rid: number, peer: PeerInfo): BoshSession | TerminalCondition {
    const { bosh } = this.config;
    const ip = peer.remoteAddress;
    // An IPv6 /64 is one client, as for the HTTP request caps (server.ts).
    const slot = this.#limiter.acquire(addressKey(ip));
    if (typeof slot === "string") {
      log.info("{ip}: BOSH session refused: too many sessions", { ip });
      return "policy-violation";
    }
    const { attrs } = body;
    const session = new BoshSession({
      sid: randomId(24),
      remoteAddress: ip,
      secure: peer.secure,
      wait: clamp(attrs.wait, 1, bosh.maxWaitSeconds, bosh.maxWaitSeconds),
      hold: clamp(attrs.hold, 0, bosh.maxHold, 1),
      inactivity: bosh.maxInactivitySeconds,
      maxPause: bosh.maxPauseSeconds,
      acks: attrs.ack !== undefined,
      maxQueuedElements: bosh.maxQueuedElements,
      onEnd: (s) => {
        this.#limiter.release(slot);
        this.#remove(s);
      },
      onAuthenticated: () => this.#limiter.authenticated(slot),
    }, rid);
    this.#sessions.set(session.sid, session);
    log.debug("{ip}: BOSH session {sid}", { ip, sid: session.sid });
    new C2sStream(session, this.services).start();
    return session;
  }

  /** Server shutdown: every session ends now and its held requests are answered. */
  close(): void {
    for (const session of [...this.#sessions.values()]) session.shutdown();
  }

  #remove(session: BoshSession): void {
    if (this.#sessions.get(session.sid) !== session) return;
    this.#sessions.delete(session.sid);
    log.debug("{ip}: BOSH session {sid} ended", { ip: session.remoteAddress, sid: session.sid });
  }
}

/** A numeric attribute within [min, max]; `fallback` when absent or not a number. */
function clamp(value: string | undefined, min: number, max: number, fallback: number): number {
  if (value === undefined || !/^[0-9]{1,9}$/.test(value)) return fallback;
  return Math.min(max, Math.max(min, Number(value)));
}
