/**
 * Federation start-up for `server.ts`: the manager and the s2s listeners
 * (STARTTLS on `listeners.s2s`, direct TLS on `listeners.s2sDirectTls`).
 */
import type { Config } from "../config/schema.ts";
import { listenerCaps } from "../stream/limits.ts";
import type { Host } from "../core/host.ts";
import type { Router } from "../core/router.ts";
import type { SecureContexts } from "../net/secure_contexts.ts";
import { listen, type Listener } from "../net/listeners.ts";
import { ConnectionLimiter } from "../net/connection_limiter.ts";
import { OncePerWindow } from "../util/once_per_window.ts";
import { NS } from "../xml/namespaces.ts";
import { handleS2sInConnection } from "../stream/s2s_in.ts";
import { TrustAnchors } from "./cert_verify.ts";
import { attachS2sManager, S2sManager } from "./manager.ts";

export interface S2sService {
  manager: S2sManager;
  listeners: Listener[];
  ports: Record<string, number>;
}

export async function startS2s(
  config: Config,
  hosts: Map<string, Host>,
  router: Router,
  tls: SecureContexts,
): Promise<S2sService> {
  const anchors = await TrustAnchors.load(config.s2s.caFile);
  const manager = new S2sManager(config, hosts, router, tls, anchors);
  attachS2sManager(manager);
  // Both s2s listeners share the limits (s2s.maxConnections and per IP).
  const limiter = new ConnectionLimiter(listenerCaps(config.s2s));
  const streams = { limiter, refusalLog: new OncePerWindow(), streamNamespace: NS.server };
  const onConnection = (conn: Parameters<typeof handleS2sInConnection>[0]) =>
    handleS2sInConnection(conn, manager);
  const listeners: Listener[] = [];
  const ports: Record<string, number> = {};
  try {
    const { s2s, s2sDirectTls } = config.listeners;
    if (s2s.enabled) {
      const l = await listen({ name: "s2s", ...s2s, ...streams, onConnection });
      listeners.push(l);
      ports.s2s = l.addresses[0].port;
    }
    if (s2sDirectTls.enabled) {
      const l = await listen({
        name: "s2sDirectTls",
        ...s2sDirectTls,
        tls: { ...tls.serverOptions(["xmpp-server"]), requestCert: true },
        ...streams,
        onConnection,
      });
      listeners.push(l);
      ports.s2sDirectTls = l.addresses[0].port;
    }
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    throw err;
  }
  return { manager, listeners, ports };
}
