/**
 * Assembles a running server from a validated config: storage, auth,
 * certificates, hosts with their modules, the router, and the listeners.
 */
import { type Config, hostConfigs, type ServiceKey } from "./config/schema.ts";
import { openStorage } from "./storage/open.ts";
import type { StorageDriver } from "./storage/types.ts";
import { createAuthProvider } from "./auth/provider.ts";
import type { AuthProvider } from "./auth/types.ts";
import { LoginThrottle } from "./auth/login_throttle.ts";
import { loadOrCreateCertificates } from "./tls/certs.ts";
import { SecureContexts } from "./net/secure_contexts.ts";
import { listen, type Listener, type ListenOptions } from "./net/listeners.ts";
import { ConnectionLimiter } from "./net/connection_limiter.ts";
import { OncePerWindow } from "./util/once_per_window.ts";
import { NS } from "./xml/namespaces.ts";
import { Host } from "./core/host.ts";
import { Router } from "./core/router.ts";
import { SessionRegistry } from "./core/sessions.ts";
import type { ParleyModule, ServerParts } from "./core/module_api.ts";
import { loadedModules, unloadModule } from "./core/module_loader.ts";
import { StreamError } from "./core/errors.ts";
import { deleteAccount } from "./core/accounts.ts";
import { type C2sServices, handleC2sConnection } from "./stream/c2s.ts";
import { MODULES } from "./modules/index.ts";
import { ComponentRegistry } from "./core/components.ts";
import { FailureThrottle } from "./auth/throttle.ts";
import { handleComponentConnection, NS_COMPONENT } from "./stream/component.ts";
import { listenerCaps } from "./stream/limits.ts";
import { type S2sService, startS2s } from "./s2s/start.ts";
import { HttpRoutes } from "./http/routes.ts";
import { type HttpService, startHttp } from "./http/server.ts";
import { addHostMetaRoutes } from "./http/host_meta.ts";
import { addXmppRoutes, type XmppRoutes } from "./http/xmpp_routes.ts";
import { ServerMetrics } from "./metrics/server_metrics.ts";
import { addMetricsRoutes } from "./metrics/http.ts";
import { addStatusRoutes } from "./http/status/routes.ts";
import { addInviteRoute } from "./modules/invites/route.ts";
import { logger } from "./log.ts";
import { addUploadRoute, provideHttpPorts } from "./modules/upload/route.ts";
import { type HostSetup, loadHostModules, registerHost, servedServices } from "./server_hosts.ts";
import { Reloader, type ReloadReport } from "./reload/reloader.ts";

const log = logger("server");

/** Most resources one account may bind at once. */
const MAX_RESOURCES_PER_USER = 16;

export interface RunningServer {
  /** Listener name → first bound port (useful with port 0). */
  ports: Record<string, number>;
  hosts: Map<string, Host>;
  sessions: SessionRegistry;
  storage: StorageDriver;
  auth: AuthProvider;
  /** What a client stream needs, for transports served elsewhere (HTTP: BOSH, WebSocket). */
  c2s: C2sServices;
  /** Federation (undefined when `s2s.enabled` is false). */
  s2s?: S2sService;
  /**
   * The HTTP route table (WebSocket, BOSH, host-meta…); routes added
   * after start are served at once.
   */
  httpRoutes: HttpRoutes;
  /** The XMPP transports on the HTTP server (WebSocket, BOSH). */
  xmppRoutes: XmppRoutes;
  /**
   * Re-read the config file (or apply `next`) and certificates without
   * dropping anyone; a bad config is refused (`ok: false`) and the running
   * one stays. See src/reload/reloader.ts.
   */
  reload(next?: Config): Promise<ReloadReport>;
  /**
   * Remove an account as an in-band removal does (sessions closed, modules
   * told, data gone): for `parley deluser` while the server runs. False
   * when there is no such account; throws for a domain with no accounts here.
   */
  deleteAccount(domain: string, username: string): Promise<boolean>;
  /** Close every stream (system-shutdown), stop listening, flush storage. */
  close(reason?: string): Promise<void>;
}

export interface StartOptions {
  /** Use this storage instead of opening the configured one (tests). */
  storage?: StorageDriver;
  /** Modules besides the shipped ones, by their name (tests: a stand-in service). */
  extraModules?: ParleyModule[];
  /** Instead of SERVICE_MODULES: the modules a service loads on its hosts (tests). */
  serviceModules?: Partial<Record<ServiceKey, string[]>>;
  /** The file `config` was read from: what reload() re-reads (default: found as `serve` does). */
  configPath?: string;
  /** Reload certificates when their files change on disk (default true). */
  watchCertificates?: boolean;
}

export async function startServer(config: Config, opts: StartOptions = {}): Promise<RunningServer> {
  const startedAt = Date.now();
  // Metrics time every storage call: the driver is wrapped once, here, when they are on.
  const metrics = ServerMetrics.create(config);
  const storage = metrics.wrapStorage(opts.storage ?? openStorage(config));
  const auth = createAuthProvider(config, storage);
  const certs = await loadOrCreateCertificates(config);
  const tls = await SecureContexts.create(certs);

  const modules = new Map(MODULES);
  for (const m of opts.extraModules ?? []) modules.set(m.name, m);
  const hosts = new Map<string, Host>();
  /** What clients log in to: service hosts have no accounts. */
  const userHosts = new Map<string, Host>();
  const components = new ComponentRegistry(config.components);
  const router = new Router(hosts, components);
  const sessions = new SessionRegistry({
    conflict: config.c2s.resourceConflict,
    maxResourcesPerUser: MAX_RESOURCES_PER_USER,
    dispatch: (session, stanza) => router.fromClient(session, stanza),
  });
  const parts: ServerParts = { config, router, sessions, storage, auth, components };
  // Filled as the listeners bind; upload service hosts (now or added by a reload) read it.
  const ports: Record<string, number> = {};
  const hostSetup: HostSetup = {
    parts,
    modules,
    hosts,
    userHosts,
    prepare: (host) => provideHttpPorts(host, ports),
  };
  const hostConfigList = [
    ...hostConfigs(config),
    ...servedServices(config, modules, opts.serviceModules),
  ];
  const created = hostConfigList.map((hc) => new Host(hc));
  for (const host of created) registerHost(host, hostSetup);
  for (const host of created) await loadHostModules(host, hostSetup);

  // Every client transport (both client listeners, WebSocket) shares one
  // limiter (and the listeners one refusal log), so the limits hold for a
  // client whatever port it uses.
  const limiter = new ConnectionLimiter(listenerCaps(config.c2s));
  const c2s: C2sServices = {
    limiter,
    config,
    hosts: userHosts,
    sessions,
    router,
    auth,
    tls,
    loginThrottle: new LoginThrottle(config.auth),
  };
  const refusalLog = new OncePerWindow();
  const clientStreams = { limiter, refusalLog, streamNamespace: NS.client };
  const listeners: Listener[] = [];
  let s2s: S2sService | undefined;
  const httpRoutes = new HttpRoutes();
  addHostMetaRoutes(httpRoutes, config);
  const xmppRoutes = addXmppRoutes(httpRoutes, config, c2s);
  addMetricsRoutes(httpRoutes, config, { metrics, storage, probeHost: [...hosts.keys()][0] });
  // The status page; s2s starts below, hence the getter. SASL's throttle: one budget per address.
  const status = addStatusRoutes(httpRoutes, {
    config,
    hosts,
    sessions,
    components,
    ports,
    startedAt,
    auth,
    s2s: () => s2s?.manager,
    throttle: c2s.loginThrottle,
  });
  addUploadRoute(httpRoutes, hosts, config);
  addInviteRoute(httpRoutes, hosts, config);
  let http: HttpService | undefined;
  const onConnection = (conn: Parameters<typeof handleC2sConnection>[0]) =>
    handleC2sConnection(conn, c2s);
  /** Listen, keep the listener for close(), and record its port under `key`. */
  const open = async (key: string, options: ListenOptions) => {
    const l = await listen(options);
    listeners.push(l);
    ports[key] = l.addresses[0].port;
  };
  try {
    const { c2s: plain, c2sDirectTls } = config.listeners;
    if (plain.enabled) await open("c2s", { name: "c2s", ...plain, ...clientStreams, onConnection });
    if (c2sDirectTls.enabled) {
      await open("c2sDirectTls", {
        name: "c2sDirectTls",
        ...c2sDirectTls,
        tls: tls.serverOptions(["xmpp-client"]),
        ...clientStreams,
        onConnection,
      });
    }
    // External components (XEP-0114): only when the config names one.
    if (components.size > 0 && config.listeners.component.enabled) {
      // One budget per address for wrong secrets, over all components.
      const { maxFailures, windowSeconds } = config.component.failedHandshakesPerIp;
      const handshakeThrottle = new FailureThrottle(maxFailures, windowSeconds);
      await open("component", {
        name: "component",
        ...config.listeners.component,
        limiter: new ConnectionLimiter(listenerCaps(config.component)),
        streamNamespace: NS_COMPONENT,
        onConnection: (conn) =>
          handleComponentConnection(conn, { config, router, components, handshakeThrottle }),
      });
    }
    // ---- federation (s2s): manager and listeners -----------------------
    if (config.s2s.enabled) {
      s2s = await startS2s(config, hosts, router, tls);
      listeners.push(...s2s.listeners);
      Object.assign(ports, s2s.ports);
    }
    // ---- end federation ----
    // The live view: HTTPS picks up reloaded certificates for new handshakes.
    http = startHttp(config, tls.live, httpRoutes);
    Object.assign(ports, http.ports);
    metrics.install({ sessions, hosts, s2s: () => s2s?.manager });
    metrics.listening = true;
  } catch (err) {
    metrics.stop();
    // Modules were loaded: their timers (retention sweeps…) must not outlive the storage.
    stopModules(hosts);
    await Promise.all(listeners.map((l) => l.close()));
    await storage.close();
    throw err;
  }

  const reloader = new Reloader({
    config,
    configPath: opts.configPath,
    tls,
    setup: hostSetup,
    serviceModules: opts.serviceModules,
    watchCertificates: opts.watchCertificates,
  });
  await reloader.start();

  let closing: Promise<void> | undefined;
  return {
    ports,
    hosts,
    sessions,
    storage,
    auth,
    c2s,
    s2s,
    httpRoutes,
    xmppRoutes,
    reload: (next) => reloader.reload(next),
    async deleteAccount(domain, username) {
      const host = userHosts.get(domain);
      if (!host) throw new Error(`${domain} has no accounts on this server`);
      if (!await auth.userExists(domain, username)) return false;
      await deleteAccount(parts, host, username);
      return true;
    },
    close(reason = "Server shutting down") {
      closing ??= (async () => {
        log.info("shutting down: {reason}", { reason });
        metrics.stop(); // /ready answers 503 from now on
        await reloader.close();
        // Modules stop their timers (retention sweeps…) before storage closes.
        for (const host of hosts.values()) host.events.emit("server-stopping", {});
        s2s?.manager.abandonPending(reason);
        for (const session of [...sessions.live]) {
          sessions.destroySession(session, new StreamError("system-shutdown", reason));
        }
        xmppRoutes.close();
        status.close();
        components.closeAll(new StreamError("system-shutdown", reason));
        s2s?.manager.closeAll(new StreamError("system-shutdown", reason));
        await Promise.all([...listeners.map((l) => l.close()), http?.close()]);
        await storage.close();
        log.info("stopped");
      })();
      return closing;
    },
  };
}

/**
 * A start that failed after modules were loaded: `server-stopping` (what
 * modules with their own timers listen to), then every module unloaded,
 * which removes whatever it registered through the module API.
 */
function stopModules(hosts: Map<string, Host>): void {
  for (const host of hosts.values()) {
    host.events.emit("server-stopping", {});
    for (const name of loadedModules(host).reverse()) unloadModule(host, name);
  }
}
