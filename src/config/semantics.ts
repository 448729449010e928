/** The checks zod cannot express: they need the whole config or the file system. */
import {
  type Config,
  hostConfigs,
  SERVICE_MODULES,
  serviceDomain,
  type ServiceKey,
} from "./schema.ts";
import { MODULES } from "../modules/index.ts";
import { didYouMean } from "./suggest.ts";
import { LOG_CATEGORIES } from "../log.ts";
import { rangeProblem } from "../http/client_address.ts";

/** One DNS label: letters (any script, for IDNs), digits, inner hyphens. */
const LABEL = /^[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?$/u;

/** Why `domain` cannot be a hosted XMPP domain, or undefined when it can. */
export function domainProblem(domain: string): string | undefined {
  if (domain.length > 253) return "longer than 253 characters";
  if (/[@/\s]/.test(domain)) {
    return "a domain has no '@', '/' or spaces (give the domain, not a JID)";
  }
  if (domain.endsWith(".")) return "remove the trailing dot";
  const bad = domain.split(".").find((label) => !LABEL.test(label));
  if (bad !== undefined) {
    return bad === ""
      ? "empty label (two dots in a row?)"
      : `"${bad}" is not a valid DNS label (letters, digits, inner hyphens, at most 63)`;
  }
  return undefined;
}

/** Problems as `path: message` lines; expects paths already resolved to absolute. */
export function semanticIssues(config: Config): string[] {
  const issues: string[] = [];
  const seen = new Map<string, number>();
  config.hosts.forEach((host, i) => {
    const domain = (typeof host === "string" ? host : host.domain).toLowerCase();
    const at = typeof host === "string" ? `hosts[${i}]` : `hosts[${i}].domain`;
    const problem = domainProblem(domain);
    if (problem) issues.push(`${at}: invalid domain "${domain}": ${problem}`);
    const first = seen.get(domain);
    if (first !== undefined) {
      issues.push(`${at}: "${domain}" is already hosted by hosts[${first}]; remove one`);
    } else seen.set(domain, i);
    if (typeof host !== "string" && host.tls) {
      issues.push(...tlsFileIssues(host.tls, `hosts[${i}].tls`));
    }
    if (typeof host !== "string") {
      issues.push(...moduleIssues(host.modules, `hosts[${i}].modules`));
      issues.push(...moduleIssues(host.disabledModules, `hosts[${i}].disabledModules`));
    }
  });
  issues.push(...serviceDomainIssues(config));
  issues.push(...moduleIssues(config.modules, "modules"));
  if (config.tls) issues.push(...tlsFileIssues(config.tls, "tls"));
  // Read at start (the server would not start without it), so checked here with the others.
  const caFile = config.s2s.enabled ? config.s2s.caFile : undefined;
  const caProblem = caFile === undefined ? undefined : fileProblem(caFile);
  if (caProblem) issues.push(`s2s.caFile: ${caProblem}: ${caFile}`);

  issues.push(...logCategoryIssues(Object.keys(config.log.categories)));
  if (config.c2s.allowPlainWithoutTls && !config.c2s.allowUnencrypted) {
    issues.push(
      "c2s.allowPlainWithoutTls: has no effect without c2s.allowUnencrypted (no authentication " +
        "happens before TLS otherwise); set c2s.allowUnencrypted to true as well, or remove it",
    );
  }

  config.http.trustedProxies.forEach((entry, i) => {
    const problem = rangeProblem(entry);
    if (problem) issues.push(`http.trustedProxies[${i}]: "${entry}" is ${problem}`);
  });
  config.metrics.allowFrom.forEach((entry, i) => {
    const problem = rangeProblem(entry);
    if (problem) issues.push(`metrics.allowFrom[${i}]: "${entry}" is ${problem}`);
  });
  const { http, https } = config.listeners;
  if (http.enabled && https.enabled && http.port !== 0 && http.port === https.port) {
    issues.push(
      `listeners.https.port: ${http.port} is also listeners.http.port; give each its own port`,
    );
  }

  const { c2s, c2sDirectTls } = config.listeners;
  if (c2s.enabled && c2sDirectTls.enabled && c2s.port !== 0 && c2s.port === c2sDirectTls.port) {
    issues.push(
      `listeners.c2sDirectTls.port: ${c2s.port} is also listeners.c2s.port; give each its own port`,
    );
  }
  return issues;
}

/** Names that are not a module Parley ships (the server would refuse to start). */
function moduleIssues(names: readonly string[], at: string): string[] {
  const known = [...MODULES.keys()].sort();
  return names.flatMap((name, i) => {
    if (MODULES.has(name)) return [];
    const hint = didYouMean(name, known);
    return [`${at}[${i}]: unknown module "${name}"; ${hint}(modules: ${known.join(", ")})`];
  });
}

/**
 * `log.categories` keys: a subsystem ("c2s"), "mod", or "mod.<module>". A
 * typo would otherwise configure a logger nothing writes to.
 */
function logCategoryIssues(keys: readonly string[]): string[] {
  const valid = [...LOG_CATEGORIES, ...[...MODULES.keys()].map((m) => `mod.${m}`)];
  return keys.flatMap((key) => {
    if (valid.includes(key)) return [];
    return [
      `log.categories.${key}: unknown logger category; ${didYouMean(key, valid)}` +
      `(categories: ${LOG_CATEGORIES.join(", ")}, or mod.<module>)`,
    ];
  });
}

function tlsFileIssues(tls: { certificate: string; key: string }, at: string): string[] {
  const issues: string[] = [];
  for (const key of ["certificate", "key"] as const) {
    const problem = fileProblem(tls[key]);
    if (problem) issues.push(`${at}.${key}: ${problem}: ${tls[key]}`);
  }
  return issues;
}

function fileProblem(path: string): string | undefined {
  try {
    return Deno.statSync(path).isFile ? undefined : "not a file";
  } catch (e) {
    return e instanceof Deno.errors.NotFound ? "file not found" : `cannot read (${e})`;
  }
}

/**
 * Each enabled service's domain, per hosted domain, must be a valid domain
 * that nothing else (a host, another service, a component) uses.
 */
function serviceDomainIssues(config: Config): string[] {
  const issues: string[] = [];
  const taken = new Map<string, string>();
  // Hosts already reported (invalid, or listed twice) are not reported again through their services.
  const hosted: string[] = [];
  for (const { domain } of hostConfigs(config)) {
    if (taken.has(domain) || domainProblem(domain)) continue;
    taken.set(domain, `hosts (${domain})`);
    hosted.push(domain);
  }
  // A component of the same name replaces the service there (serviceHostConfigs).
  const components = new Set(Object.keys(config.components).map((c) => c.toLowerCase()));
  for (const key of Object.keys(SERVICE_MODULES) as ServiceKey[]) {
    if (!config[key].enabled) continue;
    for (const parent of hosted) {
      const domain = serviceDomain(config[key].domain, parent);
      if (components.has(domain)) continue;
      const problem = domainProblem(domain);
      if (problem) {
        issues.push(
          `${key}.domain: "${domain}" (for ${parent}) is not a valid domain: ${problem}`,
        );
        break;
      }
      const other = taken.get(domain);
      if (other !== undefined) {
        issues.push(
          `${key}.domain: "${domain}" (for ${parent}) is already used by ${other}; ` +
            `use "{domain}" in it (e.g. "${key === "muc" ? "conference" : key}.{domain}") ` +
            `or set ${key}.enabled to false`,
        );
        break;
      }
      taken.set(domain, `${key}.domain`);
    }
  }
  return issues;
}
