/**
 * Where to connect for a remote domain: a static route from `s2s.hosts`
 * ("host:port" for STARTTLS, "tls://host:port" for direct TLS), else DNS SRV
 * (`_xmpps-server._tcp` direct TLS and `_xmpp-server._tcp` STARTTLS, merged
 * and ordered by priority then RFC 2782 weighted-random, XEP-0368), else the
 * domain itself on 5269. Then, per target in that order, each of its
 * addresses (RFC 6120 §3.2.1): `connectionAttempts`.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";

export interface Target {
  host: string;
  port: number;
  directTls: boolean;
}

type SrvLookup = (name: string) => Promise<Deno.SrvRecord[]>;
/** A and AAAA addresses of a host name. */
type AddressLookup = (host: string) => Promise<string[]>;

/** DNS as the s2s connector sees it: replaceable so tests send no query off the machine. */
export interface Resolver {
  srv: SrvLookup;
  addresses: AddressLookup;
}

const defaultSrv: SrvLookup = (name) => Deno.resolveDns(name, "SRV");

/**
 * The system resolver (getaddrinfo), as a plain `net.connect` would use: it
 * honours /etc/hosts (a static route to "localhost" keeps working), and gives
 * IPv6 and IPv4 addresses in the system's preferred order (RFC 6724).
 */
const defaultAddresses: AddressLookup = async (host) => {
  if (isIP(host)) return [host];
  const found = await dnsLookup(host, { all: true });
  return [...new Set(found.map((a) => a.address))];
};

export const systemResolver: Resolver = { srv: defaultSrv, addresses: defaultAddresses };

export async function resolveTargets(
  domain: string,
  staticRoutes: Record<string, string>,
  lookup: SrvLookup = defaultSrv,
  random: () => number = Math.random,
): Promise<Target[]> {
  const route = staticRoutes[domain];
  if (route !== undefined) {
    const parsed = parseRoute(route);
    if (parsed) return [parsed];
  }
  const [tlsRecords, plainRecords] = await Promise.all([
    lookup(`_xmpps-server._tcp.${domain}`).catch(() => []),
    lookup(`_xmpp-server._tcp.${domain}`).catch(() => []),
  ]);
  // RFC 6120 §3.2.1: a single "." target means the service is not offered.
  const usable = (r: Deno.SrvRecord) => r.target !== "." && r.target !== "";
  // Direct TLS listed first: at equal priority and weight it is the likelier pick (XEP-0368 §3).
  const all = [
    ...tlsRecords.filter(usable).map((r) => ({ ...r, directTls: true })),
    ...plainRecords.filter(usable).map((r) => ({ ...r, directTls: false })),
  ];
  if (all.length === 0) {
    if (tlsRecords.length + plainRecords.length > 0) return [];
    return [{ host: domain, port: 5269, directTls: false }];
  }
  return orderSrv(all, random).map((r) => ({
    host: r.target.replace(/\.$/, ""),
    port: r.port,
    directTls: r.directTls,
  }));
}

/**
 * RFC 2782 order: lower priority first; within a priority, repeatedly pick
 * one of the remaining records at random, each with a chance proportional to
 * its weight (weight-0 records first in the running sum, so they are picked
 * only when the draw is 0 or all weights are 0). `random` returns [0, 1).
 * Records keep their order in `records` where the draw does not decide.
 */
export function orderSrv<T extends { priority: number; weight: number }>(
  records: T[],
  random: () => number = Math.random,
): T[] {
  const priorities = [...new Set(records.map((r) => r.priority))].sort((a, b) => a - b);
  const out: T[] = [];
  for (const priority of priorities) {
    const group = records.filter((r) => r.priority === priority);
    // Stable: weight-0 records to the front, the rest as given.
    const left = [...group.filter((r) => r.weight === 0), ...group.filter((r) => r.weight > 0)];
    while (left.length > 0) {
      const total = left.reduce((sum, r) => sum + r.weight, 0);
      // RFC 2782 draws uniformly in [0, total]; an integer draw keeps it exact.
      const draw = Math.min(Math.floor(random() * (total + 1)), total);
      let running = 0;
      let pick = left.length - 1;
      for (let i = 0; i < left.length; i++) {
        running += left[i].weight;
        if (running >= draw) {
          pick = i;
          break;
        }
      }
      out.push(left.splice(pick, 1)[0]);
    }
  }
  return out;
}

/** One connection attempt: an address of a target, or the reason the target has none. */
export type Attempt =
  | { target: Target; address: string; last: boolean }
  | { target: Target; error: Error; last: boolean };

/**
 * RFC 6120 §3.2.1: the targets in order, each expanded into its A/AAAA
 * addresses, resolved only when its turn comes (a connection to an earlier
 * one spares the later lookups). `last`: nothing comes after this attempt.
 * `lookupLimitMs(last)`: how long a target's address lookup may take; past
 * it the target fails, so a lookup that hangs (dead name servers) cannot use
 * up the whole connect time and leave later targets untried.
 */
export async function* connectionAttempts(
  targets: Target[],
  addresses: AddressLookup = defaultAddresses,
  lookupLimitMs?: (last: boolean) => number,
): AsyncGenerator<Attempt> {
  for (let t = 0; t < targets.length; t++) {
    const target = targets[t];
    const lastTarget = t === targets.length - 1;
    let found: string[];
    try {
      const lookup = addresses(target.host);
      found = lookupLimitMs === undefined
        ? await lookup
        : await withLimit(lookup, lookupLimitMs(lastTarget));
      if (found.length === 0) throw new Error(`${target.host} has no address`);
    } catch (err) {
      yield { target, error: err as Error, last: lastTarget };
      continue;
    }
    for (let a = 0; a < found.length; a++) {
      yield { target, address: found[a], last: lastTarget && a === found.length - 1 };
    }
  }
}

/** `p`, or a rejection "address lookup timed out" after `ms`. */
async function withLimit<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("address lookup timed out")), Math.max(0, ms));
  });
  // The abandoned lookup may still fail later: that must not be an unhandled rejection.
  p.catch(() => {});
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A static route: "host:port" (STARTTLS, port 5269 by default) or
 * "tls://host:port" (direct TLS, XEP-0368, port 5270 by default). Static
 * routes have no SRV record to say which a peer offers, hence the prefix.
 */
export function parseRoute(s: string): Target | undefined {
  const directTls = s.startsWith("tls://");
  const parsed = directTls ? parseHostPort(s.slice(6), 5270) : parseHostPort(s);
  return parsed && { ...parsed, directTls };
}

/** "host:port", "[v6]:port" or a bare host (port `defaultPort`). */
export function parseHostPort(
  s: string,
  defaultPort = 5269,
): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
  if (!m) return undefined;
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host: m[1], port };
}
