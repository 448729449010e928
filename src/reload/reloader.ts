/**
 * Config reload without dropping anyone (SIGHUP, `parley reload`):
 * re-read the file, refuse it whole when it is invalid (the same report
 * as at start), else apply what can change while running — certificates
 * for new connections, hosts and their modules, log levels — and report
 * the rest as needing a restart. Certificate files changing on disk
 * (renewals) reload the certificates alone. One reload runs at a time.
 */
import { type Config, type HostConfig, hostConfigs, type ServiceKey } from "../config/schema.ts";
import { ConfigError, inspectConfig } from "../config/load.ts";
import { loadOrCreateCertificates } from "../tls/certs.ts";
import { certificateSources } from "../tls/sources.ts";
import type { SecureContexts } from "../net/secure_contexts.ts";
import { Host } from "../core/host.ts";
import { loadedModules, loadModule, unloadModule } from "../core/module_loader.ts";
import {
  hostModuleNames,
  type HostSetup,
  loadHostModules,
  registerHost,
  removeHost,
  servedServices,
} from "../server_hosts.ts";
import { configureLogging, logger } from "../log.ts";
import { planReload } from "./plan.ts";
import { CertWatcher } from "./cert_watch.ts";
import { type ReloadReport, summarizeReport } from "./report.ts";

export type { ReloadReport };

const log = logger("server", "reload");

export interface ReloaderOptions {
  config: Config;
  /** The file the config came from (undefined: found the way `serve` finds it). */
  configPath?: string;
  tls: SecureContexts;
  setup: HostSetup;
  serviceModules?: Partial<Record<ServiceKey, string[]>>;
  /** Watch the certificate files and reload them when they change (default true). */
  watchCertificates?: boolean;
}

export class Reloader {
  #config: Config;
  #queue: Promise<unknown> = Promise.resolve();
  #watcher?: CertWatcher;

  constructor(readonly options: ReloaderOptions) {
    this.#config = options.config;
    if (options.watchCertificates !== false) {
      this.#watcher = new CertWatcher(() => {
        this.reloadCertificates().catch((err) =>
          log.error("certificate reload failed: {err}", { err })
        );
      });
    }
  }

  /** The config the server runs now. */
  get config(): Config {
    return this.#config;
  }

  /** Start watching the certificate files of the running config. */
  async start(): Promise<void> {
    await this.#watcher?.update(certificateFiles(this.#config));
  }

  async close(): Promise<void> {
    await this.#watcher?.close();
    await this.#queue.catch(() => {});
  }

  /** Re-read the config file (or use `next`) and apply it. */
  reload(next?: Config): Promise<ReloadReport> {
    return this.#serially(() => this.#reload(next));
  }

  /** Re-read the certificate files of the running config; the domains whose certificate changed. */
  reloadCertificates(): Promise<string[]> {
    return this.#serially(async () => {
      const changed = await this.#swapCertificates(this.#config);
      if (changed.length > 0) {
        log.info("certificate files changed: new connections to {domains} get the new ones", {
          domains: changed.join(", "),
        });
      }
      await this.#watcher?.update(certificateFiles(this.#config));
      return changed;
    });
  }

  #serially<T>(job: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(job, job);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #reload(given?: Config): Promise<ReloadReport> {
    const report = emptyReport(given ? undefined : this.options.configPath);
    let next = given;
    if (!next) {
      const inspection = await inspectConfig(this.options.configPath);
      report.file = inspection.path;
      if (inspection.issues.length > 0 || inspection.config === undefined) {
        return refused(report, new ConfigError(inspection.issues, inspection.path).message);
      }
      next = inspection.config;
    }
    const { effective, needsRestart } = planReload(this.#config, next);
    report.needsRestart = needsRestart;
    try {
      report.certificatesChanged = await this.#swapCertificates(effective);
    } catch (err) {
      return refused(report, `certificates: ${(err as Error).message ?? err}`);
    }
    const logChanged = JSON.stringify(this.#config.log) !== JSON.stringify(effective.log);
    adopt(this.#config, effective);
    await this.#applyHosts(this.#config, report);
    if (logChanged) {
      await configureLogging(this.#config.log);
      report.logChanged = true;
    }
    await this.#watcher?.update(certificateFiles(this.#config));
    log.info("config reloaded: {summary}", { summary: summarizeReport(report) });
    return report;
  }

  /**
   * Load the certificates `config` names and use them for new handshakes
   * when any differs from those in use. Throws (nothing swapped) when a
   * file cannot be read or a key does not fit its certificate.
   */
  async #swapCertificates(config: Config): Promise<string[]> {
    const { tls } = this.options;
    const fresh = await loadOrCreateCertificates(config);
    const old = tls.certs;
    const domains = certificateSources(config).map((s) => s.domain);
    const changed = domains.filter((d) => old.forHost(d)?.certPem !== fresh.forHost(d)?.certPem);
    const keyChanged = domains.some((d) => old.forHost(d)?.keyPem !== fresh.forHost(d)?.keyPem);
    if (changed.length === 0 && !keyChanged && old.default.certPem === fresh.default.certPem) {
      return [];
    }
    await tls.replace(fresh);
    return changed;
  }

  /** Remove the hosts `config` no longer names, add the new ones, and reconcile modules. */
  async #applyHosts(config: Config, report: ReloadReport): Promise<void> {
    const { setup: base, serviceModules } = this.options;
    // Modules set up from now on see the running config (new hosts, services).
    const setup: HostSetup = { ...base, parts: { ...base.parts, config } };
    const wanted = new Map<string, HostConfig>();
    for (const hc of hostConfigs(config)) wanted.set(hc.domain, hc);
    for (const hc of servedServices(config, base.modules, serviceModules, true)) {
      wanted.set(hc.domain, hc);
    }
    const current = [...base.hosts.values()];
    // Service hosts go first: a service never outlives its parent.
    const gone = current.filter((h) => {
      const hc = wanted.get(h.domain);
      return !hc || (hc.kind ?? "user") !== h.kind || hc.parent !== h.parent;
    }).sort((a, b) => (a.kind === "service" ? -1 : 0) - (b.kind === "service" ? -1 : 0));
    for (const host of gone) {
      removeHost(host, setup);
      report.hostsRemoved.push(host.domain);
    }
    const added: Host[] = [];
    for (const [domain, hc] of wanted) {
      const host = base.hosts.get(domain);
      if (host) await this.#reconcileModules(host, hc, setup, report);
      else added.push(new Host(hc));
    }
    for (const host of added) {
      registerHost(host, setup);
      report.hostsAdded.push(host.domain);
    }
    for (const host of added) {
      try {
        await loadHostModules(host, setup);
      } catch (err) {
        // Served with the modules that did load; the operator sees why one did not.
        report.problems.push(`${host.domain}: ${(err as Error).message ?? err}`);
      }
    }
  }

  /** A kept host: its new config, its removed modules unloaded and its new ones loaded. */
  async #reconcileModules(
    host: Host,
    hc: HostConfig,
    setup: HostSetup,
    report: ReloadReport,
  ): Promise<void> {
    host.config = hc;
    const want = hostModuleNames(host, setup.parts.config);
    const have = loadedModules(host);
    for (const name of [...have].reverse()) {
      if (want.includes(name)) continue;
      unloadModule(host, name);
      report.modulesUnloaded.push(`${host.domain}: ${name}`);
    }
    for (const name of want) {
      if (have.includes(name)) continue;
      const module = setup.modules.get(name);
      if (!module) {
        report.problems.push(`${host.domain}: unknown module "${name}"`);
        continue;
      }
      try {
        await loadModule(host, module, setup.parts);
        report.modulesLoaded.push(`${host.domain}: ${name}`);
      } catch (err) {
        report.problems.push(`${host.domain}: module ${name}: ${(err as Error).message ?? err}`);
      }
    }
  }
}

/**
 * Make `running` say what `effective` says, in place: modules, listeners
 * and routes hold the running config (and its sections, like
 * `config.registration`) from start-up, so the applied settings reach
 * them only through the same objects.
 */
function adopt(running: Config, effective: Config): void {
  const target = running as Record<string, unknown>;
  for (const [key, value] of Object.entries(effective)) {
    const current = target[key];
    if (isSection(current) && isSection(value)) {
      // An optional key the new file leaves out (say `metrics.token`) goes too.
      for (const old of Object.keys(current)) if (!(old in value)) delete current[old];
      Object.assign(current, value);
    } else target[key] = value;
  }
}

function isSection(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every certificate and key file the config uses (including the generated pair). */
function certificateFiles(config: Config): string[] {
  return [
    ...new Set(certificateSources(config).flatMap((s) => [s.files.certificate, s.files.key])),
  ];
}

function emptyReport(file?: string): ReloadReport {
  return {
    ok: true,
    file,
    hostsAdded: [],
    hostsRemoved: [],
    modulesLoaded: [],
    modulesUnloaded: [],
    certificatesChanged: [],
    logChanged: false,
    needsRestart: [],
    problems: [],
  };
}

function refused(report: ReloadReport, error: string): ReloadReport {
  log.error("config reload refused, the running config stays: {error}", { error });
  return { ...report, ok: false, error, needsRestart: [] };
}
