/**
 * What the status page shows, as JSON: read through public interfaces
 * only (the session lookup, the s2s manager's `links()`, the components
 * registry), at one moment. The session list is capped, so a server with
 * a hundred thousand sessions answers with a bounded document.
 */
import type { Config } from "../../config/schema.ts";
import type { Host } from "../../core/host.ts";
import type { Session } from "../../core/session.ts";
import type { SessionLookup } from "../../core/session_lookup.ts";
import type { ComponentRegistry } from "../../core/components.ts";
import type { S2sManager, S2sOutLinkInfo } from "../../s2s/manager.ts";
import { smState } from "../../modules/stream_management/state.ts";
import { VERSION } from "../../version.ts";
import { administers } from "./admin_login.ts";

/** Most resources listed; the rest are counted only. */
export const MAX_LISTED_RESOURCES = 500;

export interface StatusSources {
  config: Config;
  hosts: ReadonlyMap<string, Host>;
  sessions: SessionLookup;
  components: ComponentRegistry;
  /** Undefined when federation is off. */
  s2s?: () => S2sManager | undefined;
  /** Listener name → first bound port; filled as listeners start. */
  ports: Readonly<Record<string, number>>;
  startedAt: number;
}

export interface ResourceStatus {
  resource: string;
  /** TCP, TLS, WebSocket or BOSH; null while hibernating (no stream). */
  transport: string | null;
  secure: boolean | null;
  address: string | null;
  priority: number;
  /** A stream carries it now (false: hibernating under stream management). */
  connected: boolean;
  hibernating: boolean;
  /** It sent an undirected available presence (RFC 6121 §4.2). */
  available: boolean;
  show: string | null;
  /** It fetched its roster and gets roster pushes. */
  interested: boolean;
  /** Stream management (XEP-0198); null when not enabled. */
  sm:
    | { enabled: true; resumable: boolean; unacked: number; expiresInSeconds: number | null }
    | null;
  idleSeconds: number;
}

export interface StatusSnapshot {
  version: string;
  now: number;
  startedAt: number;
  uptimeSeconds: number;
  hosts: { domain: string; kind: "user" | "service"; parent: string | null; services: string[] }[];
  listeners: { name: string; enabled: boolean; interfaces: string[]; port: number | null }[];
  users: { jid: string; host: string; resources: ResourceStatus[] }[];
  totals: { users: number; resources: number; listed: number };
  s2s: { enabled: boolean; outgoing: S2sOutLinkInfo[]; incoming: { remote: string[] }[] };
  components: { domain: string; connected: boolean }[];
}

const TRANSPORT_NAMES = { websocket: "WebSocket", bosh: "BOSH" } as const;

function transportName(session: Session): string | null {
  const t = session.transport;
  if (!t) return null;
  if (t.kind === "tcp") return t.tls ? "TLS" : "TCP";
  return TRANSPORT_NAMES[t.kind];
}

export function resourceStatus(session: Session, now: number): ResourceStatus {
  const sm = smState(session);
  const t = session.transport;
  return {
    resource: session.resource ?? "",
    transport: transportName(session),
    secure: t ? t.secure : null,
    address: t ? t.remoteAddress : null,
    priority: session.priority,
    connected: t !== undefined && !session.hibernating,
    hibernating: session.hibernating,
    available: session.presence !== undefined,
    show: session.presence?.getChild("show")?.text() ?? null,
    interested: session.interested,
    sm: sm
      ? {
        enabled: true,
        resumable: sm.id !== undefined,
        unacked: session.outbox.unackedCount,
        expiresInSeconds: session.hibernating && sm.expiresAt > 0
          ? Math.max(0, Math.round((sm.expiresAt - now) / 1000))
          : null,
      }
      : null,
    idleSeconds: Math.max(0, Math.round((now - session.lastActivity) / 1000)),
  };
}

/**
 * The snapshot `viewer` (an admin's bare JID) may see: the users of the
 * hosts it administers only — a host's own admin is not shown another
 * host's users and their addresses; a global admin administers them all.
 */
export function statusSnapshot(
  src: StatusSources,
  viewer: string,
  now = Date.now(),
): StatusSnapshot {
  const hosts = [...src.hosts.values()].map((h) => ({
    domain: h.domain,
    kind: h.kind,
    parent: h.parent ?? null,
    services: h.services.map((s) => s.domain),
  }));
  const listeners = Object.entries(src.config.listeners).map(([name, l]) => ({
    name,
    enabled: l.enabled,
    interfaces: [...l.interfaces],
    port: src.ports[name] ?? null,
  }));
  const byUser = new Map<string, { jid: string; host: string; resources: ResourceStatus[] }>();
  let resources = 0;
  let listed = 0;
  for (const host of src.hosts.values()) {
    if (host.kind !== "user" || !administers(host, viewer)) continue;
    for (const session of src.sessions.bound(host.domain)) {
      resources++;
      if (listed >= MAX_LISTED_RESOURCES) continue;
      listed++;
      const jid = session.bareJid!;
      let user = byUser.get(jid);
      if (!user) byUser.set(jid, user = { jid, host: host.domain, resources: [] });
      user.resources.push(resourceStatus(session, now));
    }
  }
  const users = [...byUser.values()].sort((a, b) => a.jid < b.jid ? -1 : a.jid > b.jid ? 1 : 0);
  const manager = src.s2s?.();
  const links = manager?.links();
  return {
    version: VERSION,
    now,
    startedAt: src.startedAt,
    uptimeSeconds: Math.max(0, Math.round((now - src.startedAt) / 1000)),
    hosts,
    listeners,
    users,
    totals: { users: users.length, resources, listed },
    s2s: {
      enabled: src.config.s2s.enabled,
      outgoing: links?.outgoing ?? [],
      incoming: (links?.incoming ?? []).map((remote) => ({ remote })),
    },
    components: src.components.domains.map((domain) => ({
      domain,
      connected: src.components.link(domain) !== undefined,
    })),
  };
}
