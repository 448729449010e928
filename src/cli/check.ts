/**
 * `parley check`: everything that would stop the server or make clients
 * refuse it, checked without starting it. One line per check so the output
 * reads as a checklist and greps well.
 */
import { CONFIG_HELP, parseConfigOnly } from "./args.ts";
import { ConfigError, loadConfig } from "../config/load.ts";
import { type Config, hostConfigs } from "../config/schema.ts";
import { inspectCertificate } from "../tls/inspect.ts";
import { certificateSources, type CertSource, readPemPair } from "../tls/sources.ts";
import { EXIT_CODES_HELP, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./exit.ts";

export const HELP = `Usage: parley check [options]

Check the configuration and, for each host, its certificate: that its names
cover the domain, its expiry, and that the private key matches. Prints one
line per check (OK, WARN or FAIL), then the DNS SRV records each domain should
publish (DNS is not queried).

Options:
${CONFIG_HELP}
  -h, --help          Show this help

${EXIT_CODES_HELP}
  check exits 1 when any check FAILs, and 2 when the config cannot be loaded.`;

/** Warn this long before a certificate expires (Let's Encrypt renews at 30 days left). */
const EXPIRY_WARNING_DAYS = 14;

type Level = "OK" | "WARN" | "FAIL";

class Report {
  failures = 0;
  line(level: Level, subject: string, text: string): void {
    if (level === "FAIL") this.failures++;
    console.log(`${level.padEnd(4)}  ${subject}: ${text}`);
  }
}

export async function run(args: string[]): Promise<number> {
  const values = parseConfigOnly(args, HELP);
  if (!values) return EXIT_OK;
  const report = new Report();
  let config: Config;
  try {
    const loaded = await loadConfig(values.config);
    config = loaded.config;
    const hosts = hostConfigs(config).map((h) => h.domain);
    report.line(
      "OK",
      "config",
      `${loaded.path ?? "embedded default"} is valid (hosts: ${hosts.join(", ")})`,
    );
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    report.line("FAIL", "config", e.message);
    return EXIT_USAGE;
  }
  for (const source of certificateSources(config)) await checkCertificate(source, report);
  printSrvHints(config);
  if (config.s2s.enabled) await checkFederationDns(config, report);
  return report.failures > 0 ? EXIT_FAILURE : EXIT_OK;
}

async function checkCertificate(source: CertSource, report: Report): Promise<void> {
  const { domain, files, origin } = source;
  const generated = origin === "self-signed";
  let certPem: string, keyPem: string;
  try {
    ({ certPem, keyPem } = await readPemPair(files));
  } catch (e) {
    if (generated && e instanceof Deno.errors.NotFound) {
      report.line("WARN", domain, "no certificate yet: a self-signed one is generated at start");
    } else {
      report.line("FAIL", domain, `cannot read the certificate or key: ${(e as Error).message}`);
    }
    return;
  }
  let r;
  try {
    r = await inspectCertificate(certPem, keyPem, domain);
  } catch (e) {
    report.line("FAIL", domain, `${files.certificate}: ${(e as Error).message}`);
    return;
  }
  const which =
    { host: "this host's own", global: "the global tls pair", "self-signed": "generated" }[origin];
  report.line("OK", domain, `certificate ${files.certificate} (${which})`);
  // The server regenerates its own certificate when it stops fitting, so
  // what would be a failure for an operator's certificate is only a warning.
  const problem: Level = generated ? "WARN" : "FAIL";
  const regen = generated ? " (regenerated at next start)" : "";
  report.line(
    r.coversDomain ? "OK" : problem,
    domain,
    `${r.coversDomain ? "covered by" : "NOT covered by"} its names: ${r.subjectNames.join(", ")}${
      r.coversDomain ? "" : regen
    }`,
  );
  const until = r.notAfter.toISOString().slice(0, 10);
  if (r.expired) report.line(problem, domain, `expired on ${until}${regen}`);
  else if (r.notBefore.getTime() > Date.now()) {
    report.line("FAIL", domain, `not valid before ${r.notBefore.toISOString()}`);
  } else if (r.expiresInDays < EXPIRY_WARNING_DAYS) {
    report.line("WARN", domain, `expires on ${until}, in ${r.expiresInDays} days: renew it`);
  } else report.line("OK", domain, `valid until ${until} (${r.expiresInDays} days)`);
  if (r.keyMatches) report.line("OK", domain, "the private key matches the certificate");
  else {
    report.line("FAIL", domain, r.keyProblem ?? `${files.key} is not the certificate's key`);
  }
  if (r.selfSigned) {
    report.line("WARN", domain, "self-signed: clients will not trust it without manual approval");
    report.line(
      "WARN",
      domain,
      "self-signed: other servers can only authenticate this one with dialback, and those " +
        "requiring valid certificates (Prosody's s2s_secure_auth) refuse it",
    );
  }
}

/**
 * RFC 6120 §3.2.1 and XEP-0368. The target is assumed to be the domain itself;
 * point it at the machine's own name when that differs.
 */
function printSrvHints(config: Config): void {
  const { c2s, c2sDirectTls, s2s, s2sDirectTls } = config.listeners;
  console.log("\nDNS records each domain should publish (not queried; target = this server):");
  for (const { domain } of hostConfigs(config)) {
    if (domain === "localhost" || domain.endsWith(".localhost")) {
      console.log(`  ${domain}: local only, no DNS records needed`);
      continue;
    }
    // Port 0 means "any free port", which no DNS record can name.
    if (c2s.enabled && c2s.port !== 0) {
      console.log(`  _xmpp-client._tcp.${domain}. 3600 IN SRV 0 5 ${c2s.port} ${domain}.`);
    }
    if (c2sDirectTls.enabled && c2sDirectTls.port !== 0) {
      console.log(
        `  _xmpps-client._tcp.${domain}. 3600 IN SRV 0 5 ${c2sDirectTls.port} ${domain}.`,
      );
    }
    if (config.s2s.enabled && s2s.enabled && s2s.port !== 0) {
      console.log(`  _xmpp-server._tcp.${domain}. 3600 IN SRV 0 5 ${s2s.port} ${domain}.`);
    }
    if (config.s2s.enabled && s2sDirectTls.enabled && s2sDirectTls.port !== 0) {
      console.log(
        `  _xmpps-server._tcp.${domain}. 3600 IN SRV 0 5 ${s2sDirectTls.port} ${domain}.`,
      );
    }
  }
}

/** How long one DNS query of `check` may take: it must not hang offline. */
const DNS_TIMEOUT_MS = 3000;

/**
 * What other servers will find for each domain (RFC 6120 §3.2): the
 * server SRV records, else the domain's own addresses on 5269.
 */
async function checkFederationDns(config: Config, report: Report): Promise<void> {
  const port = config.listeners.s2s.port;
  for (const { domain } of hostConfigs(config)) {
    if (domain === "localhost" || domain.endsWith(".localhost")) continue;
    const subject = `${domain} (federation)`;
    try {
      const srv = await resolveSrv(`_xmpp-server._tcp.${domain}`);
      if (srv.length > 0) {
        for (const r of srv) {
          const ok = r.port === port || port === 0;
          report.line(
            ok ? "OK" : "WARN",
            subject,
            `_xmpp-server._tcp SRV → ${r.target}:${r.port}` +
              (ok ? "" : ` (this server listens on ${port})`),
          );
        }
        continue;
      }
      const addrs = [
        ...await resolveAddresses(domain, "A"),
        ...await resolveAddresses(domain, "AAAA"),
      ];
      if (addrs.length > 0) {
        report.line("WARN", subject, `no _xmpp-server._tcp SRV record: peers use ${domain}:5269`);
      } else {
        // A warning, not a failure: offline or split-horizon DNS looks the same from here.
        report.line(
          "WARN",
          subject,
          "no SRV and no A/AAAA record found: other servers cannot reach it",
        );
      }
    } catch (e) {
      report.line("WARN", subject, `DNS could not be queried: ${(e as Error).message}`);
    }
  }
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

function resolveSrv(name: string): Promise<Deno.SrvRecord[]> {
  return orEmpty(Deno.resolveDns(name, "SRV", { signal: AbortSignal.timeout(DNS_TIMEOUT_MS) }));
}

function resolveAddresses(name: string, type: "A" | "AAAA"): Promise<string[]> {
  return orEmpty(Deno.resolveDns(name, type, { signal: AbortSignal.timeout(DNS_TIMEOUT_MS) }));
}
