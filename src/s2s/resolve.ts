/**
 * Where to connect for a remote domain: a static route from `s2s.hosts`
 * ("host:port" for STARTTLS, "tls://host:port" for direct TLS), else DNS SRV (`_xmpps-server._tcp` direct TLS and `_xmpp-server._tcp`
 * STARTTLS, merged by priority then weight, XEP-0368), else the domain
 * itself on 5269.
 */
export interface Target {
  host: string;
  port: number;
  directTls: boolean;
}

type SrvLookup = (name: string) => Promise<Deno.SrvRecord[]>;

const defaultSrv: SrvLookup = (name) => Deno.resolveDns(name, "SRV");

export async function resolveTargets(
  domain: string,
  staticRoutes: Record<string, string>,
  lookup: SrvLookup = defaultSrv,
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
  const all = [
    ...tlsRecords.filter(usable).map((r) => ({ r, directTls: true })),
    ...plainRecords.filter(usable).map((r) => ({ r, directTls: false })),
  ];
  if (all.length === 0) {
    if (tlsRecords.length + plainRecords.length > 0) return [];
    return [{ host: domain, port: 5269, directTls: false }];
  }
  // Lower priority first; at equal priority heavier first, direct TLS first (XEP-0368 §3).
  all.sort((a, b) =>
    a.r.priority - b.r.priority || b.r.weight - a.r.weight ||
    Number(b.directTls) - Number(a.directTls)
  );
  return all.map(({ r, directTls }) => ({
    host: r.target.replace(/\.$/, ""),
    port: r.port,
    directTls,
  }));
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
