/**
 * `parley check`: everything that would stop the server or make clients
 * refuse it, checked without starting it. One line per check so the output
 * reads as a checklist and greps well.
 */
import { CONFIG_HELP, CONFIG_OPTION, HELP_OPTION, parse, positionals } from "./args.ts";
import { inspectConfig } from "../config/load.ts";
import { type Config, hostConfigs } from "../config/schema.ts";
import { inspectCertificate, pemChain } from "../tls/inspect.ts";
import { certificateSources, type CertSource, readPemPair } from "../tls/sources.ts";
import { EXIT_CODES_HELP, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./exit.ts";
import { type Level, Report } from "./check_report.ts";
import { checkDns, printSrvHints } from "./check_dns.ts";
import { checkFederationTrust, type FederationAnchors, loadAnchors } from "./check_trust.ts";
import { checkHttp } from "./check_http.ts";

export const HELP = `Usage: parley check [options]

Check the configuration and, for each host, its certificate: that its names
cover the domain, its expiry, that the private key matches, and (with
federation on) that other servers can verify its chain, as Parley verifies
theirs: against the system CA store and s2s.caFile. Then the HTTP listeners
and whether the WebSocket and BOSH URLs advertised in host-meta (XEP-0156)
reach one of them. Then print the DNS SRV records each domain should
publish, query DNS for them (_xmpp-client, _xmpps-client, _xmpp-server,
_xmpps-server) and report what is found or missing. One line per check:
OK, WARN or FAIL.

Options:
${CONFIG_HELP}
      --no-dns        Do not query DNS (offline, or before the records exist)
      --deep          Instead: check the RUNNING server from outside (see below)
      --insecure      With --deep: do not verify the server's certificates
      --address ADDR  With --deep: connect to ADDR instead of the listeners' addresses
      --domain DOMAIN With --deep: the hosted domain to use (default: the first)
  -h, --help          Show this help

With --deep, check starts nothing: it reads the config for the hosts and
listeners and connects to the running server over every configured transport
(c2s STARTTLS, direct TLS, WebSocket and BOSH on the HTTP listeners), with a
temporary account (in-band registration when offered, else through the
storage as adduser does, else the insecure auth provider's first login). It
uses the roster, a message to itself seen by a second resource, carbons, MAM,
HTTP upload and a MUC room where offered, removes the account (XEP-0077), and
prints which XEP-0479 (Compliance Suites 2023) server levels are reached and
what is missing for the next one. Certificates are verified against the system
CA store plus the configured certificate file (a self-signed one is its own CA).

${EXIT_CODES_HELP}
  check exits 2 when the config has problems (every one is listed, and the
  other checks still run on the rest of it), else 1 when any check FAILs.`;

/** Warn this long before a certificate expires (Let's Encrypt renews at 30 days left). */
const EXPIRY_WARNING_DAYS = 14;

export async function run(args: string[]): Promise<number> {
  const { values, positionals: rest } = parse(args, {
    options: {
      ...CONFIG_OPTION,
      ...HELP_OPTION,
      "no-dns": { type: "boolean" },
      deep: { type: "boolean" },
      insecure: { type: "boolean" },
      address: { type: "string" },
      domain: { type: "string" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(HELP);
    return EXIT_OK;
  }
  positionals(rest, []);
  const report = new Report();
  // Every problem at once: the config's, then the checks below on what the
  // config accepted (a rejected value replaced by its default).
  const { config, issues, path } = await inspectConfig(values.config);
  const where = path ?? "embedded default";
  if (issues.length === 0 && config) {
    const hosts = hostConfigs(config).map((h) => h.domain);
    report.line("OK", "config", `${where} is valid (hosts: ${hosts.join(", ")})`);
  } else {
    const count = issues.length === 1 ? "1 problem" : `${issues.length} problems`;
    report.text(`${count} in ${where}:`);
    for (const issue of issues) report.line("FAIL", "config", issue);
  }
  if (!config) return EXIT_USAGE;
  if (values.deep) {
    if (issues.length > 0) return EXIT_USAGE;
    const { runDeep } = await import("./check_deep.ts");
    return await runDeep(config, {
      insecure: values.insecure === true,
      address: values.address,
      domain: values.domain,
    }, report);
  }
  // Federation: whether peers can verify each host's certificate chain.
  // An unreadable s2s.caFile is already a config problem above.
  const caFailed = issues.some((i) => i.startsWith("s2s.caFile:"));
  const anchors = config.s2s.enabled && !caFailed ? await loadAnchors(config, report) : undefined;
  // Hosted domains only: a service host (conference.<domain>) uses its parent's
  // pair, and whether the build serves it is decided at start.
  for (const source of certificateSources(config).filter((s) => s.parent === undefined)) {
    await checkCertificate(source, config, anchors, report);
  }
  checkHttp(config, report);
  printSrvHints(config, report);
  if (values["no-dns"]) report.text("\nDNS not queried (--no-dns).");
  else await checkDns(config, report);
  if (issues.length > 0) return EXIT_USAGE;
  return report.failures > 0 ? EXIT_FAILURE : EXIT_OK;
}

async function checkCertificate(
  source: CertSource,
  config: Config,
  anchors: FederationAnchors | undefined,
  report: Report,
): Promise<void> {
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
  }
  if (anchors) {
    checkFederationTrust(domain, pemChain(certPem), files.certificate, anchors, config, report);
  }
}
