/**
 * Setting a host up and taking it down: what start-up does for every
 * configured host, and what a config reload does for the hosts it adds
 * or removes. The host maps (all hosts, user hosts, sessions) are shared
 * with the router, c2s and s2s, so hosts come and go by mutating them.
 */
import type { Config, HostConfig, ServiceKey } from "./config/schema.ts";
import { serviceHostConfigs } from "./config/schema.ts";
import { Host } from "./core/host.ts";
import type { ParleyModule, ServerParts } from "./core/module_api.ts";
import { loadedModules, loadModule, unloadModule } from "./core/module_loader.ts";
import { installDelivery } from "./core/delivery.ts";
import { installServiceDelivery } from "./core/service_delivery.ts";
import { StreamError } from "./core/errors.ts";
import { CORE_MODULES } from "./modules/index.ts";
import { logger } from "./log.ts";

const log = logger("server");

export interface HostSetup {
  parts: ServerParts;
  /** Every module this build can load, by name. */
  modules: ReadonlyMap<string, ParleyModule>;
  /** All hosts (router, s2s) and the user hosts alone (c2s logins). */
  hosts: Map<string, Host>;
  userHosts: Map<string, Host>;
  /**
   * Called as a host is registered, before its modules load, at start-up
   * and on a reload alike: what the server gives a host besides its config
   * (the upload service's HTTP ports).
   */
  prepare?: (host: Host) => void;
}

/** The modules a host runs: a user host's core modules first, then its configured ones. */
export function hostModuleNames(host: Host, config: Config): string[] {
  const names = host.config.modules;
  if (host.kind !== "user") return [...new Set(names)];
  return [
    ...new Set([
      ...CORE_MODULES.filter((m) => m !== "session" || config.c2s.legacySession),
      ...names,
    ]),
  ];
}

/**
 * Add `host` to the maps and install its delivery: from here on its
 * domain is local. Modules come after (loadHostModules), once every host
 * of the same start or reload is registered, as they may look at others.
 */
export function registerHost(host: Host, setup: HostSetup): void {
  const { parts, hosts, userHosts } = setup;
  hosts.set(host.domain, host);
  setup.prepare?.(host);
  if (host.kind === "user") {
    userHosts.set(host.domain, host);
    parts.sessions.addHost(host.domain, host.events);
    installDelivery(host, { router: parts.router, sessions: parts.sessions });
  } else {
    installServiceDelivery(host, parts.router);
    const parent = hosts.get(host.parent!);
    if (parent && !parent.services.includes(host)) parent.services.push(host);
  }
}

/**
 * Load a registered host's modules. A module that is missing or fails to
 * set up throws; start-up then fails, a reload reports it.
 */
export async function loadHostModules(host: Host, setup: HostSetup): Promise<void> {
  const names = hostModuleNames(host, setup.parts.config);
  for (const name of names) {
    const module = setup.modules.get(name);
    if (!module) throw new Error(`Unknown module "${name}" for host ${host.domain}`);
    await loadModule(host, module, setup.parts);
  }
  // Two templates, not an optional piece of one: the text formatter quotes
  // every value, so an empty one printed as "".
  const modules = names.join(", ");
  if (host.parent === undefined) {
    log.info("serving {domain} with modules {modules}", { domain: host.domain, modules });
  } else {
    log.info("serving {domain} (service of {parent}) with modules {modules}", {
      domain: host.domain,
      parent: host.parent,
      modules,
    });
  }
}

/**
 * Take a host out of service: every session on it ends with `host-gone`
 * (RFC 6120 §4.9.3.6), its modules stop and unload (newest first), and it
 * leaves the maps, so its domain is no longer local.
 */
export function removeHost(host: Host, setup: HostSetup): void {
  const { parts, hosts, userHosts } = setup;
  const error = new StreamError("host-gone", `${host.domain} is no longer served here`);
  for (const session of [...parts.sessions.live]) {
    if (session.host === host.domain) parts.sessions.destroySession(session, error);
  }
  host.events.emit("server-stopping", {});
  for (const name of loadedModules(host).reverse()) unloadModule(host, name);
  hosts.delete(host.domain);
  if (host.kind === "user") {
    userHosts.delete(host.domain);
    parts.sessions.removeHost(host.domain);
  } else {
    const parent = hosts.get(host.parent!);
    const at = parent?.services.indexOf(host) ?? -1;
    if (at >= 0) parent!.services.splice(at, 1);
  }
  log.info("stopped serving {domain}", { domain: host.domain });
}

/**
 * The service hosts to create: each enabled service's, with its modules
 * (`serviceModules` overriding SERVICE_MODULES). A service whose modules
 * are not all registered is left out with a log line, so enabling a
 * service by default costs nothing until its module exists.
 */
export function servedServices(
  config: Config,
  modules: ReadonlyMap<string, ParleyModule>,
  override: Partial<Record<ServiceKey, string[]>> = {},
  quiet = false,
): HostConfig[] {
  const served: HostConfig[] = [];
  const missingLogged = new Set<string>();
  for (const hc of serviceHostConfigs(config)) {
    const names = override[hc.service!] ?? hc.modules;
    const missing = names.filter((m) => !modules.has(m));
    if (missing.length > 0) {
      if (!quiet && !missingLogged.has(hc.service!)) {
        missingLogged.add(hc.service!);
        log.info("{service} is enabled but not served: no module {missing} in this build", {
          service: hc.service,
          missing: missing.join(", "),
        });
      }
      continue;
    }
    served.push({ ...hc, modules: [...names] });
  }
  return served;
}
