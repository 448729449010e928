/**
 * `parley check --deep`: the running server seen from outside, as a
 * client sees it. Reads the config for the hosts and listeners, starts
 * nothing, connects over every configured transport with a temporary
 * account, uses it the way a user would, removes it, and prints which
 * XEP-0479 compliance levels the server reaches. Client pieces live in
 * src/cli/deep/*.
 */
import * as tls from "node:tls";
import { type Config, hostConfigs } from "../config/schema.ts";
import { certificateSources } from "../tls/sources.ts";
import { BOSH_PATH, WEBSOCKET_PATH } from "../http/host_meta.ts";
import type { Report } from "./check_report.ts";
import { EXIT_FAILURE, EXIT_OK } from "./exit.ts";
import { DeepClient } from "./deep/client.ts";
import type { Link } from "./deep/link.ts";
import { withTimeout } from "./deep/link.ts";
import { TcpLink } from "./deep/tcp_link.ts";
import { WebSocketLink } from "./deep/websocket_link.ts";
import { BoshLink } from "./deep/bosh_link.ts";
import type { TrustOptions } from "./deep/tls_options.ts";
import { type Facts, newFacts } from "./deep/facts.ts";
import { accountGone, createTempAccount, type TempAccount } from "./deep/temp_account.ts";
import * as ex from "./deep/exercises.ts";
import { assess } from "./deep/compliance.ts";

/** One step's deadline: a few round trips each bounded by STEP_MS. */
const STEP_DEADLINE_MS = 20_000;

export interface DeepOptions {
  insecure: boolean;
  /** Connect here instead of the listeners' addresses (a server behind NAT, a container). */
  address?: string;
  /** The hosted domain to log in to (default: the first). */
  domain?: string;
}

interface Transport {
  /** What `facts.exercised` records when a login over it works. */
  kind: "starttls" | "direct-tls" | "websocket" | "bosh";
  make(): Link;
}

export async function runDeep(
  config: Config,
  options: DeepOptions,
  report: Report,
): Promise<number> {
  const domains = hostConfigs(config).map((h) => h.domain);
  const domain = options.domain?.toLowerCase() ?? domains[0];
  if (!domains.includes(domain)) {
    report.line("FAIL", "deep", `${domain} is not a hosted domain (hosts: ${domains.join(", ")})`);
    return EXIT_FAILURE;
  }
  report.text(`\nDeep check of the running server for ${domain}:`);
  const trust = await trustFor(config, domain, options.insecure, report);
  const transports = transportsOf(config, domain, trust, options.address);
  if (transports.length === 0) {
    report.line("FAIL", "deep", "no client listener is enabled: nothing to connect to");
    return EXIT_FAILURE;
  }
  const facts = newFacts(config.listeners.component.enabled);
  const tcp = transports.filter((t) => t.kind === "starttls" || t.kind === "direct-tls");
  const primary = tcp[0] ?? transports[0];

  let account: TempAccount;
  try {
    account = await withTimeout(
      "account",
      STEP_DEADLINE_MS,
      createTempAccount(config, domain, primary.make()),
    );
  } catch (e) {
    report.line("FAIL", "account", `temporary account not created: ${(e as Error).message}`);
    return EXIT_FAILURE;
  }
  const jid = `${account.user}@${domain}`;
  const how = {
    "in-band": "by in-band registration (XEP-0077)",
    storage: `in the storage (${config.storage.driver}), as parley adduser does`,
    insecure: "by logging in (auth.provider insecure makes accounts on first login)",
  }[account.how];
  report.line("OK", "account", `temporary account ${jid} created ${how}`);

  // Every transport: a login, a ping, a clean close.
  for (const t of transports) {
    const link = t.make();
    await step(report, link.name, async () => {
      const c = await DeepClient.login(link, account.user, account.password, `check-${t.kind}`);
      recordStreamFeatures(facts, c);
      await c.iq("get", domain, "<ping xmlns='urn:xmpp:ping'/>");
      facts.exercised.add("login").add(t.kind);
      return `logged in (${c.mechanism}), bound ${c.jid}, ping answered`;
    });
    await link.close();
  }

  const open: DeepClient[] = [];
  let removed = false;
  try {
    const a = await DeepClient.login(primary.make(), account.user, account.password, "check-a");
    open.push(a);
    const b = await DeepClient.login(
      (tcp[1] ?? primary).make(),
      account.user,
      account.password,
      "check-b",
    );
    open.push(b);
    await exercise(
      a,
      b,
      domain,
      facts,
      trust,
      report,
      (url) => localAddress(config, url, options.address),
    );
    removed = await step(report, "account", async () => {
      await ex.removeAccount(a);
      return `${jid} removed in-band (XEP-0077 <remove/>)`;
    });
  } catch (e) {
    report.line("FAIL", "deep", `could not log in two resources: ${(e as Error).message}`);
  } finally {
    for (const c of open) await c.close().catch(() => {});
  }
  // The two resources failed before the removal: one more login, only to remove the account.
  if (!removed) removed = await removeWithFreshLogin(primary, account, report);
  await confirmRemoval(config, domain, account, removed, report, primary);
  printCompliance(facts, report);
  return report.failures > 0 ? EXIT_FAILURE : EXIT_OK;
}

async function exercise(
  a: DeepClient,
  b: DeepClient,
  domain: string,
  facts: Facts,
  trust: TrustOptions,
  report: Report,
  local: (url: URL) => string | undefined,
): Promise<void> {
  const bare = a.jid.split("/")[0];
  facts.serverFeatures = await a.discoFeatures(domain);
  facts.accountFeatures = await a.discoFeatures(bare);
  report.line(
    facts.serverFeatures.size > 0 ? "OK" : "FAIL",
    "disco",
    `${domain}: ${facts.serverFeatures.size} features, account: ${facts.accountFeatures.size}`,
  );
  if (await step(report, "roster", () => ex.roster(a, domain))) facts.exercised.add("roster");
  let body: string | undefined;
  await step(report, "message", async () => {
    await ex.goOnline(a, b);
    body = await ex.messageToSelf(a, b);
    facts.exercised.add("message");
    return `to the bare JID from ${a.jid}, delivered to ${b.jid}`;
  });
  if (!facts.accountFeatures.has("urn:xmpp:mam:2")) report.line("WARN", "mam", "not offered");
  else if (body === undefined) report.line("FAIL", "mam", "not tried: no message to find");
  else if (await step(report, "mam", () => ex.mam(a, body!))) facts.exercised.add("mam");
  if (!facts.serverFeatures.has("urn:xmpp:carbons:2")) {
    report.line("WARN", "carbons", "not offered");
  } else if (await step(report, "carbons", () => ex.carbons(a, b))) facts.exercised.add("carbons");
  await optional(
    report,
    "upload",
    facts,
    () => ex.upload(a, domain, facts, trust, local),
    "no upload service in disco#items",
  );
  await optional(
    report,
    "muc",
    facts,
    () => ex.muc(a, domain, facts),
    "no MUC service in disco#items",
  );
}

/** A step whose service may be absent: undefined from `fn` means "not offered". */
async function optional(
  report: Report,
  name: string,
  facts: Facts,
  fn: () => Promise<string | undefined>,
  absent: string,
): Promise<void> {
  let offered = true;
  const ok = await step(report, name, async () => {
    const r = await fn();
    offered = r !== undefined;
    return r;
  }, absent);
  if (ok && offered) facts.exercised.add(name);
}

/** One line for a step: OK with what it proved, FAIL with why, WARN when not offered. */
async function step(
  report: Report,
  subject: string,
  fn: () => Promise<string | undefined>,
  absent = "not offered",
): Promise<boolean> {
  try {
    const text = await withTimeout(subject, STEP_DEADLINE_MS, fn());
    if (text === undefined) report.line("WARN", subject, absent);
    else report.line("OK", subject, text);
    return true;
  } catch (e) {
    report.line("FAIL", subject, (e as Error).message);
    return false;
  }
}

async function confirmRemoval(
  config: Config,
  domain: string,
  account: TempAccount,
  removedInBand: boolean,
  report: Report,
  primary: Transport,
): Promise<void> {
  const jid = `${account.user}@${domain}`;
  let gone: boolean | undefined;
  try {
    gone = await accountGone(config, domain, account);
  } catch (e) {
    report.line(
      "WARN",
      "account",
      `could not open the storage to confirm: ${(e as Error).message}`,
    );
    return;
  }
  // Storage only the server can read: a login with the old password must now fail.
  if (gone === undefined && account.how !== "insecure") gone = await loginRefused(primary, account);
  if (gone === true) report.line("OK", "account", `${jid} no longer exists`);
  else if (gone === false && account.how === "storage") {
    report.line("WARN", "account", `${jid} was still stored: removed through the storage`);
  } else if (gone === false) {
    report.line("FAIL", "account", `${jid} still exists: remove it with parley deluser ${jid}`);
  } else if (!removedInBand) {
    report.line("FAIL", "account", `${jid} may remain: remove it with parley deluser ${jid}`);
  } else {
    report.line(
      "OK",
      "account",
      `${jid} removed (not re-checked: ${config.storage.driver} storage)`,
    );
  }
}

async function removeWithFreshLogin(
  primary: Transport,
  account: TempAccount,
  report: Report,
): Promise<boolean> {
  const link = primary.make();
  try {
    const c = await withTimeout(
      "login",
      STEP_DEADLINE_MS,
      DeepClient.login(link, account.user, account.password, "check-remove"),
    );
    await withTimeout("remove", STEP_DEADLINE_MS, ex.removeAccount(c));
    report.line("OK", "account", `${account.user} removed in-band on a new connection`);
    return true;
  } catch (e) {
    report.line("FAIL", "account", `in-band removal failed: ${(e as Error).message}`);
    return false;
  } finally {
    await link.close();
  }
}

/** True when SASL refuses the removed account; undefined when the attempt proves nothing. */
async function loginRefused(
  primary: Transport,
  account: TempAccount,
): Promise<boolean | undefined> {
  const link = primary.make();
  try {
    await withTimeout(
      "login",
      STEP_DEADLINE_MS,
      DeepClient.login(link, account.user, account.password, "check-gone"),
    );
    return false;
  } catch (e) {
    return /failed: not-authorized/.test((e as Error).message) ? true : undefined;
  } finally {
    await link.close();
  }
}

function recordStreamFeatures(facts: Facts, c: DeepClient): void {
  for (const features of [c.preAuthFeatures, c.features]) {
    for (const f of features?.getChildren() ?? []) {
      facts.streamFeatures.add(`${f.name} ${f.attrs.xmlns ?? ""}`);
    }
  }
}

function printCompliance(facts: Facts, report: Report): void {
  report.text("\nXEP-0479 (Compliance Suites 2023), server levels reached:");
  for (const r of assess(facts)) {
    const next = r.level === "none" ? "Server" : "Advanced Server";
    const missing = r.missing.map((m) => `${m.feature} (${m.providers}; checked by: ${m.evidence})`)
      .join("; ");
    const subject = `XEP-0479 ${r.category}`;
    if (r.level === "Advanced Server") report.line("OK", subject, "Advanced Server");
    else {
      report.line(
        r.level === "none" ? "WARN" : "OK",
        subject,
        `${r.level === "none" ? "not reached" : r.level}; missing for ${next}: ${missing}`,
      );
    }
  }
}

/** The system store plus the configured certificate (its own CA when self-signed). */
async function trustFor(
  config: Config,
  domain: string,
  insecure: boolean,
  report: Report,
): Promise<TrustOptions> {
  if (insecure) {
    report.line("WARN", "tls", "--insecure: server certificates are not verified");
    return { insecure: true };
  }
  const source = certificateSources(config).find((s) => s.domain === domain);
  if (!source) return { insecure: false };
  try {
    const pem = await Deno.readTextFile(source.files.certificate);
    report.line(
      "OK",
      "tls",
      `verifying against the system CA store and ${source.files.certificate}`,
    );
    return { insecure: false, ca: [...tls.rootCertificates, pem] };
  } catch (e) {
    report.line(
      "WARN",
      "tls",
      `${source.files.certificate}: ${(e as Error).message}; system CA store only`,
    );
    return { insecure: false };
  }
}

/**
 * A URL the server hands out (an upload slot) that names one of its own
 * hosts on one of its HTTP ports is fetched from that listener directly,
 * as `curl --resolve` would: the check is about the server, and names
 * like upload.localhost need not be in DNS. Other URLs (a reverse proxy
 * in http.uploadBaseUrl…) go through DNS.
 */
function localAddress(config: Config, url: URL, override: string | undefined): string | undefined {
  const { http, https } = config.listeners;
  const listener = url.protocol === "https:" ? https : http;
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  if (!listener.enabled || listener.port !== port) return undefined;
  const own = certificateSources(config).map((s) => s.domain);
  const host = url.hostname.toLowerCase();
  if (!own.includes(host) && !own.some((d) => host.endsWith(`.${d}`))) return undefined;
  return addressOf(listener.interfaces, override);
}

/** Where to connect for a listener: a wildcard interface means this machine. */
function addressOf(interfaces: string[], override: string | undefined): string {
  if (override) return override;
  const first = interfaces[0] ?? "127.0.0.1";
  if (first === "0.0.0.0" || first === "::" || first === "localhost") return "127.0.0.1";
  return first;
}

function transportsOf(
  config: Config,
  domain: string,
  trust: TrustOptions,
  override: string | undefined,
): Transport[] {
  const { c2s, c2sDirectTls, http, https } = config.listeners;
  const out: Transport[] = [];
  if (c2s.enabled) {
    const at = addressOf(c2s.interfaces, override);
    out.push({
      kind: "starttls",
      make: () => new TcpLink(`c2s STARTTLS ${at}:${c2s.port}`, at, c2s.port, domain, false, trust),
    });
  }
  if (c2sDirectTls.enabled) {
    const at = addressOf(c2sDirectTls.interfaces, override);
    out.push({
      kind: "direct-tls",
      make: () =>
        new TcpLink(
          `direct TLS ${at}:${c2sDirectTls.port}`,
          at,
          c2sDirectTls.port,
          domain,
          true,
          trust,
        ),
    });
  }
  for (const [listener, secure] of [[http, false], [https, true]] as const) {
    if (!listener.enabled) continue;
    const host = addressOf(listener.interfaces, override);
    const origin = `${secure ? "s" : ""}://${
      host.includes(":") ? `[${host}]` : host
    }:${listener.port}`;
    if (config.http.websocket) {
      const url = new URL(`ws${origin}${WEBSOCKET_PATH}`);
      out.push({
        kind: "websocket",
        make: () => new WebSocketLink(`WebSocket ${url}`, url, domain, trust),
      });
    }
    if (config.http.bosh) {
      const url = new URL(`http${origin}${BOSH_PATH}`);
      out.push({ kind: "bosh", make: () => new BoshLink(`BOSH ${url}`, url, domain, trust) });
    }
  }
  return out;
}
