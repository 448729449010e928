/**
 * SCRAM login for the status page (RFC 5802, the same ScramExchange as
 * SASL): the page's script sends client-first, gets server-first with an
 * exchange id, then sends client-final; the password never leaves the
 * browser. Two JSON round trips to `/status/scram`:
 *
 *   {mechanism, jid, data}  → {id, data}        (data: base64 SCRAM messages)
 *   {id, data}              → {data} + cookie    (or an error status)
 *
 * Exchanges waiting for their second message are few and short-lived
 * (MAX_PENDING, MAX_PENDING_PER_IP, PENDING_MS) and bound to the
 * address that started them.
 * Throttling follows the c2s stream: the address checked before, the
 * account's verdict judged by the same LoginThrottle after.
 */
import { randomBytes } from "node:crypto";
import { Buffer } from "node:buffer";
import { ScramExchange } from "../../auth/scram.ts";
import type { AuthProvider, SaslStep, ScramHash } from "../../auth/types.ts";
import type { LoginThrottle } from "../../auth/login_throttle.ts";
import { addressKey } from "../../net/address_key.ts";
import type { Host } from "../../core/host.ts";
import { parseJid } from "../../jid.ts";
import { isAdmin, type LoginVerdict } from "./admin_login.ts";

const MAX_PENDING = 256;
/**
 * Of those, per client (an address, or an IPv6 /64 whose addresses one
 * subscriber picks at will): one cannot hold them all (and lock the admins out).
 */
const MAX_PENDING_PER_IP = 4;
const PENDING_MS = 30_000;
const HASHES: Record<string, ScramHash> = { "SCRAM-SHA-256": "SHA-256", "SCRAM-SHA-1": "SHA-1" };

export interface ScramLoginDeps {
  hosts: ReadonlyMap<string, Host>;
  auth: AuthProvider;
  throttle: LoginThrottle;
  scramIterations: number;
}

interface Pending {
  exchange: ScramExchange;
  host: string;
  ip: string;
  /** The client `ip` belongs to (an IPv6 /64 is one), for MAX_PENDING_PER_IP. */
  client: string;
  expires: number;
}

/** One step's outcome: a challenge to send on, or the final verdict. */
export type ScramStepResult =
  | { kind: "challenge"; id: string; data: string }
  | { kind: "done"; verdict: LoginVerdict; data?: string }
  | { kind: "malformed" | "busy" };

export class ScramLogins {
  #pending = new Map<string, Pending>();

  constructor(readonly deps: ScramLoginDeps) {}

  async step(body: unknown, ip: string): Promise<ScramStepResult> {
    if (typeof body !== "object" || body === null) return { kind: "malformed" };
    const { mechanism, jid, id, data } = body as Record<string, unknown>;
    if (typeof data !== "string" || data.length > 4096) return { kind: "malformed" };
    const bytes = new Uint8Array(Buffer.from(data, "base64"));
    this.#prune();
    if (typeof id === "string") {
      const pending = this.#pending.get(id);
      this.#pending.delete(id);
      if (!pending || pending.ip !== ip) return { kind: "malformed" };
      return this.#verdict(await pending.exchange.step(bytes), pending.host, ip);
    }
    const hash = typeof mechanism === "string" ? HASHES[mechanism] : undefined;
    const parsed = typeof jid === "string" && jid.length <= 3071 ? parseJid(jid.trim()) : undefined;
    const host = parsed && this.deps.hosts.get(parsed.domain);
    if (!hash || !host || host.kind !== "user") return { kind: "malformed" };
    if (this.deps.throttle.ipBlocked(ip)) {
      return { kind: "done", verdict: { ok: false, reason: "throttled" } };
    }
    if (
      this.#pending.size >= MAX_PENDING || this.#pendingFrom(addressKey(ip)) >= MAX_PENDING_PER_IP
    ) {
      return { kind: "busy" };
    }
    const exchange = new ScramExchange(hash, false, {
      host: host.domain,
      provider: this.deps.auth,
      secure: true,
    }, { fakeIterations: this.deps.scramIterations });
    const first = await exchange.step(bytes);
    if (first.kind !== "challenge") return this.#verdict(first, host.domain, ip);
    const key = randomBytes(18).toString("base64url");
    this.#pending.set(key, {
      exchange,
      host: host.domain,
      ip,
      client: addressKey(ip),
      expires: Date.now() + PENDING_MS,
    });
    return { kind: "challenge", id: key, data: Buffer.from(first.data).toString("base64") };
  }

  #verdict(step: SaslStep, host: string, ip: string): ScramStepResult {
    const throttle = this.deps.throttle;
    if (step.kind === "challenge") return { kind: "malformed" };
    if (step.kind === "failure") {
      if (step.condition === "temporary-auth-failure") {
        return { kind: "done", verdict: { ok: false, reason: "unavailable" } };
      }
      if (step.username) {
        const account = step.username + "@" + host;
        const refused = throttle.refusal(account, ip);
        throttle.failed(account, ip);
        if (refused) return { kind: "done", verdict: { ok: false, reason: "throttled" } };
      }
      return { kind: "done", verdict: { ok: false, reason: "bad-credentials" } };
    }
    const account = step.username + "@" + host;
    if (throttle.refusal(account, ip)) {
      return { kind: "done", verdict: { ok: false, reason: "throttled" } };
    }
    throttle.succeeded(account, ip);
    if (!isAdmin(this.deps.hosts, account)) {
      return { kind: "done", verdict: { ok: false, reason: "not-admin" } };
    }
    const data = step.data ? Buffer.from(step.data).toString("base64") : undefined;
    return { kind: "done", verdict: { ok: true, jid: account }, data };
  }

  #pendingFrom(client: string): number {
    let n = 0;
    for (const p of this.#pending.values()) if (p.client === client) n++;
    return n;
  }

  #prune(): void {
    const now = Date.now();
    for (const [key, p] of this.#pending) if (p.expires <= now) this.#pending.delete(key);
  }
}
