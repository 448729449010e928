/**
 * How many connections a listener family (c2s, s2s, components) holds:
 * a global cap, a per-IP cap on all connections, and a lower per-IP cap
 * on connections that have not authenticated yet.
 *
 * Authenticated connections are not capped per IP as tightly as
 * unauthenticated ones: behind NAT (offices, carrier-grade NAT) many
 * users share one address, each account is already bounded by its
 * resource limit, and Prosody and ejabberd cap only what an anonymous
 * peer can hold. An unauthenticated connection costs nothing to open, so
 * that is what one address may not pile up.
 */
import { addressKey } from "./address_key.ts";

export interface LimiterSettings {
  /** Connections at once over the family's listeners. */
  maxTotal: number;
  /** Connections from one IP, authenticated or not. */
  maxPerIp: number;
  /** Connections from one IP that have not authenticated yet. */
  maxUnauthenticatedPerIp: number;
}

/** Why a connection was refused; `total` is the server's limit, the others the address's. */
export type Refusal = "total" | "per-ip" | "unauthenticated";

/** One admitted connection's place in the counts. */
export interface Slot {
  /** The client it is counted for (addressKey). */
  readonly ip: string;
  authenticated: boolean;
  released: boolean;
}

interface IpCount {
  all: number;
  unauthenticated: number;
}

export class ConnectionLimiter {
  #total = 0;
  #perIp = new Map<string, IpCount>();

  constructor(readonly settings: LimiterSettings) {}

  /**
   * A slot for a new connection from `address`, or why there is none.
   * Counted per client (addressKey: an IPv6 /64 is one subscriber's).
   */
  acquire(address: string): Slot | Refusal {
    const { maxTotal, maxPerIp, maxUnauthenticatedPerIp } = this.settings;
    if (this.#total >= maxTotal) return "total";
    const ip = addressKey(address);
    const count = this.#perIp.get(ip) ?? { all: 0, unauthenticated: 0 };
    if (count.all >= maxPerIp) return "per-ip";
    if (count.unauthenticated >= maxUnauthenticatedPerIp) return "unauthenticated";
    count.all++;
    count.unauthenticated++;
    this.#perIp.set(ip, count);
    this.#total++;
    return { ip, authenticated: false, released: false };
  }

  /** The connection authenticated: it no longer counts as unauthenticated. */
  authenticated(slot: Slot): void {
    if (slot.authenticated || slot.released) return;
    slot.authenticated = true;
    const count = this.#perIp.get(slot.ip);
    if (count) count.unauthenticated--;
  }

  release(slot: Slot): void {
    if (slot.released) return;
    slot.released = true;
    this.#total--;
    const count = this.#perIp.get(slot.ip);
    if (!count) return;
    count.all--;
    if (!slot.authenticated) count.unauthenticated--;
    if (count.all <= 0) this.#perIp.delete(slot.ip);
  }

  /** Open connections from `address`'s client (all, or only those not authenticated yet). */
  count(address: string, unauthenticatedOnly = false): number {
    const count = this.#perIp.get(addressKey(address));
    return (unauthenticatedOnly ? count?.unauthenticated : count?.all) ?? 0;
  }

  get total(): number {
    return this.#total;
  }
}
