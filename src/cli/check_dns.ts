/**
 * The DNS part of `parley check`: the SRV records each hosted domain should
 * publish (RFC 6120 §3.2, XEP-0368), then what DNS actually answers for
 * them, compared with the listeners: found, missing, pointing at the wrong
 * port or at a listener that is off, each with the remedy. The resolver is
 * a parameter so the reporting can be tested without leaving the machine.
 */
import { type Config, hostConfigs } from "../config/schema.ts";
import type { Report } from "./check_report.ts";

export interface DnsResolver {
  /** The SRV records of `name`; empty when it has none. Throws when DNS cannot answer. */
  srv(name: string): Promise<Deno.SrvRecord[]>;
  /** The A and AAAA addresses of `name`; empty when it has none. */
  addresses(name: string): Promise<string[]>;
}

/** How long one DNS query may take: `check` must not hang offline. */
const DNS_TIMEOUT_MS = 3000;

const systemResolver: DnsResolver = {
  srv: (name) => orEmpty(Deno.resolveDns(name, "SRV", timeout())),
  async addresses(name) {
    const [a, aaaa] = await Promise.all([
      orEmpty(Deno.resolveDns(name, "A", timeout())),
      orEmpty(Deno.resolveDns(name, "AAAA", timeout())),
    ]);
    return [...a, ...aaaa];
  },
};

type ListenerName = "c2s" | "c2sDirectTls" | "s2s" | "s2sDirectTls";

interface Service {
  label: string;
  listener: ListenerName;
  federation: boolean;
  /**
   * Where one connects without a record (RFC 6120 §3.2: the domain on the
   * default port). Direct TLS has no such fallback: without its record
   * nobody tries it (XEP-0368).
   */
  fallbackPort?: number;
}

const SERVICES: Service[] = [
  { label: "_xmpp-client._tcp", listener: "c2s", federation: false, fallbackPort: 5222 },
  { label: "_xmpps-client._tcp", listener: "c2sDirectTls", federation: false },
  { label: "_xmpp-server._tcp", listener: "s2s", federation: true, fallbackPort: 5269 },
  { label: "_xmpps-server._tcp", listener: "s2sDirectTls", federation: true },
];

/** Domains only this machine resolves need no records. */
function isLocal(domain: string): boolean {
  return domain === "localhost" || domain.endsWith(".localhost");
}

function servicesFor(config: Config): Service[] {
  return SERVICES.filter((s) => !s.federation || config.s2s.enabled);
}

function record(label: string, domain: string, port: number): string {
  return `${label}.${domain}. 3600 IN SRV 0 5 ${port} ${domain}.`;
}

/** The records to publish. The target is assumed to be the domain itself. */
export function printSrvHints(config: Config, report: Report): void {
  report.text("\nDNS records each domain should publish (target = this server):");
  for (const { domain } of hostConfigs(config)) {
    if (isLocal(domain)) {
      report.text(`  ${domain}: local only, no DNS records needed`);
      continue;
    }
    for (const service of servicesFor(config)) {
      const { enabled, port } = config.listeners[service.listener];
      // Port 0 means "any free port", which no DNS record can name.
      if (enabled && port !== 0) report.text(`  ${record(service.label, domain, port)}`);
    }
  }
}

/** What clients and servers find in DNS for each hosted domain. */
export async function checkDns(
  config: Config,
  report: Report,
  resolver: DnsResolver = systemResolver,
): Promise<void> {
  const addresses = new Map<string, Promise<string[]>>();
  const addressesOf = (name: string) => {
    let found = addresses.get(name);
    if (!found) addresses.set(name, found = resolver.addresses(name));
    return found;
  };
  const domains = hostConfigs(config).map((h) => h.domain).filter((d) => !isLocal(d));
  if (domains.length > 0) report.text("\nWhat DNS answers:");
  for (const domain of domains) {
    for (const service of servicesFor(config)) {
      const subject = `${domain} (${service.federation ? "federation" : "clients"})`;
      try {
        await checkService(
          config,
          domain,
          service,
          resolver,
          addressesOf,
          (level, text) => report.line(level, subject, text),
        );
      } catch (e) {
        // A warning, not a failure: offline or split-horizon DNS looks the same from here.
        report.line("WARN", subject, `DNS could not be queried: ${(e as Error).message}`);
        break;
      }
    }
  }
}

async function checkService(
  config: Config,
  domain: string,
  service: Service,
  resolver: DnsResolver,
  addressesOf: (name: string) => Promise<string[]>,
  line: (level: "OK" | "WARN", text: string) => void,
): Promise<void> {
  const { label, listener: name, fallbackPort } = service;
  const listener = config.listeners[name];
  const who = service.federation ? "other servers" : "clients";
  const publish = `publish ${record(label, domain, listener.port || fallbackPort || 0)}`;
  const records = await resolver.srv(`${label}.${domain}`);

  if (records.length === 0) {
    if (!listener.enabled) {
      return line("OK", `no ${label} record, as listeners.${name} is off`);
    }
    if (fallbackPort === undefined) {
      return line(
        "WARN",
        `no ${label} record: ${who} will not use direct TLS (XEP-0368) on port ` +
          `${listener.port}; ${publish}`,
      );
    }
    const addrs = await addressesOf(domain);
    if (addrs.length === 0) {
      return line(
        "WARN",
        `no ${label} record and no A/AAAA record for ${domain}: ${who} cannot reach this ` +
          `server; ${publish} and an A/AAAA record for its target`,
      );
    }
    const fallback = `${who} fall back to ${domain}:${fallbackPort} (${addrs.join(", ")})`;
    if (listener.port === fallbackPort || listener.port === 0) {
      return line("OK", `no ${label} record: ${fallback}`);
    }
    return line(
      "WARN",
      `no ${label} record: ${fallback}, but this server listens on ${listener.port}; ${publish}`,
    );
  }

  // RFC 2782, RFC 6120 §3.2.1: a lone "." target says the service is not offered.
  const usable = records.filter((r) => r.target !== "." && r.target !== "");
  if (usable.length === 0) {
    if (!listener.enabled) {
      return line("OK", `${label} says "not offered" (target "."), as listeners.${name} is off`);
    }
    return line(
      "WARN",
      `${label} says "not offered" (target "."), so ${who} will not connect, though ` +
        `listeners.${name} is on: replace it (${publish})`,
    );
  }
  usable.sort((a, b) => a.priority - b.priority || b.weight - a.weight);
  for (const r of usable) {
    const target = r.target.replace(/\.$/, "");
    const found = `${label} SRV → ${target}:${r.port} (priority ${r.priority}, weight ${r.weight})`;
    if (!listener.enabled) {
      line(
        "WARN",
        `${found}, but listeners.${name} is off: ${who} trying it fail; remove the record ` +
          `or enable the listener`,
      );
    } else if (listener.port !== 0 && r.port !== listener.port) {
      line("WARN", `${found}, but this server listens on ${listener.port}: fix the record`);
    } else {
      const addrs = await addressesOf(target);
      if (addrs.length > 0) line("OK", `${found} (${addrs.join(", ")})`);
      else line("WARN", `${found}, but ${target} has no A/AAAA record: add one`);
    }
  }
}

function timeout() {
  return { signal: AbortSignal.timeout(DNS_TIMEOUT_MS) };
}

/** DNS answers, empty when the name or record type does not exist. */
async function orEmpty<T>(query: Promise<T[]>): Promise<T[]> {
  try {
    return await query;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}
