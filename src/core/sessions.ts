/**
 * The session registry: per host, bare sessions (username → resources and
 * roster) and full sessions (full JID → session). Binding adds to both,
 * `destroySession` removes from both. No other file mutates these maps.
 * Modules see it only as a SessionLookup (`api.sessions`).
 */
import { el, type Element } from "../xml/element.ts";
import { StanzaError, StreamError } from "./errors.ts";
import type { Session, UndeliveredEvent } from "./session.ts";
import type { EventHub } from "./events.ts";
import type { SessionLookup } from "./session_lookup.ts";
import { logger } from "../log.ts";

const log = logger("sessions");

export interface BareSession {
  sessions: Map<string, Session>;
  roster: unknown;
}

interface HostSessions {
  bareSessions: Map<string, BareSession>;
  fullSessions: Map<string, Session>;
  events: EventHub;
}

export interface RegistryOptions {
  /** RFC 6120 §7.7.2.2: the new binding replaces the old one, or is refused. */
  conflict: "replace" | "reject";
  maxResourcesPerUser: number;
  /** Route a stanza as if the session sent it (unavailable presence on destroy). */
  dispatch(session: Session, stanza: Element): void;
}

export interface SessionEvent {
  session: Session;
}

/**
 * Fired (synchronously) on the host as `session-disconnected` when a bound
 * session's stream is gone without a close from the client. A handler
 * that returns `true` keeps the session (stream management hibernates it
 * and destroys it later itself); otherwise it is destroyed at once.
 */
export interface SessionDisconnectedEvent {
  session: Session;
  error?: StreamError;
}

export class SessionRegistry implements SessionLookup {
  #hosts = new Map<string, HostSessions>();
  /** Every live session, bound or not, for shutdown and stats. */
  readonly live = new Set<Session>();

  constructor(readonly options: RegistryOptions) {}

  addHost(domain: string, events: EventHub): void {
    this.#hosts.set(domain, { bareSessions: new Map(), fullSessions: new Map(), events });
  }

  /** Forget a host's (empty) maps: the host was removed by a config reload. */
  removeHost(domain: string): void {
    this.#hosts.delete(domain);
  }

  /** A new connection's session, unbound; tracked so shutdown can reach it. */
  track(session: Session): void {
    this.live.add(session);
  }

  /**
   * Stop tracking an unbound session without ending its stream: the
   * stream now carries another session (XEP-0198 resumption).
   */
  forget(session: Session): void {
    if (session.fullJid !== undefined) return;
    session.destroyed = true;
    this.live.delete(session);
  }

  full(jid: string, host: string): Session | undefined {
    return this.#hosts.get(host)?.fullSessions.get(jid);
  }

  bare(host: string, username: string): BareSession | undefined {
    return this.#hosts.get(host)?.bareSessions.get(username);
  }

  resources(host: string, username: string): Session[] {
    const bare = this.bare(host, username);
    return bare ? [...bare.sessions.values()] : [];
  }

  online(host: string, username: string): boolean {
    return (this.bare(host, username)?.sessions.size ?? 0) > 0;
  }

  available(host: string, username: string): Session[] {
    const out: Session[] = [];
    const bare = this.bare(host, username);
    if (bare) { for (const s of bare.sessions.values()) if (s.presence !== undefined) out.push(s); }
    return out;
  }

  bareTargets(host: string, username: string): Session[] {
    const bare = this.bare(host, username);
    if (!bare) return [];
    const out: Session[] = [];
    for (const s of bare.sessions.values()) {
      if (s.presence !== undefined && s.priority >= 0) out.push(s);
    }
    return out.sort((a, b) => b.priority - a.priority);
  }

  bound(host: string): Session[] {
    const h = this.#hosts.get(host);
    return h ? [...h.fullSessions.values()] : [];
  }

  roster(host: string, username: string): unknown {
    return this.bare(host, username)?.roster;
  }

  /** How many resources are bound across all hosts. */
  get boundCount(): number {
    let n = 0;
    for (const h of this.#hosts.values()) n += h.fullSessions.size;
    return n;
  }

  /**
   * Bind `resource` (already prepared) to an authenticated session. On a
   * conflict the older session is replaced or the new one refused, by
   * policy. Returns a StanzaError for the bind iq on refusal.
   */
  bind(session: Session, resource: string): StanzaError | undefined {
    const host = this.#hosts.get(session.host!);
    if (!host || session.username === undefined || session.fullJid !== undefined) {
      return new StanzaError("cancel", "not-allowed", "Cannot bind this session");
    }
    const username = session.username;
    let bare = host.bareSessions.get(username);
    const existing = bare?.sessions.get(resource);
    if (existing) {
      // A hibernating session (stream management) has no client on it:
      // refusing the bind would lock its owner out until it expires.
      if (this.options.conflict === "reject" && !existing.hibernating) {
        return new StanzaError("cancel", "conflict", "Resource already bound");
      }
      log.info("{jid}: replacing the existing session for this resource", {
        jid: existing.fullJid,
      });
      this.destroySession(existing, new StreamError("conflict", "Replaced by new connection"));
      bare = host.bareSessions.get(username);
    } else if (bare && bare.sessions.size >= this.options.maxResourcesPerUser) {
      return new StanzaError("wait", "resource-constraint", "Too many resources bound");
    }
    if (!bare) {
      bare = { sessions: new Map(), roster: undefined };
      host.bareSessions.set(username, bare);
    }
    session.resource = resource;
    session.fullJid = username + "@" + session.host + "/" + resource;
    session.roster = bare.roster;
    bare.sessions.set(resource, session);
    host.fullSessions.set(session.fullJid, session);
    host.events.emit<SessionEvent>("resource-bind", { session });
    return undefined;
  }

  /**
   * The session's stream is gone (transport closed, or the peer stopped
   * reading): the point where a module may keep the session instead of
   * destroying it. Nothing a module does here may wait.
   */
  disconnected(session: Session, error?: StreamError): void {
    if (session.destroyed) return;
    // The stream's last words (the error) still go out if it has a transport.
    const driver = session.driver;
    session.detach();
    driver?.close(error);
    const host = session.fullJid ? this.#hosts.get(session.host!) : undefined;
    if (host) {
      const kept = host.events.fire<SessionDisconnectedEvent>("session-disconnected", {
        session,
        error,
      });
      if (kept === true) return;
      if (kept !== false) {
        log.error("{jid}: a session-disconnected handler returned a promise; destroying", {
          jid: session.fullJid,
        });
      }
    }
    this.destroySession(session, error);
  }

  /**
   * The one way a session ends: unavailable presence for an available
   * resource, removal from the registry, `resource-unbind`, messages it
   * never got to offline storage (`undelivered`), and the stream closed
   * (with `error` when given). Safe to call twice.
   */
  destroySession(session: Session, error?: StreamError): void {
    if (session.destroyed) return;
    session.destroyed = true;
    this.live.delete(session);
    const host = session.fullJid ? this.#hosts.get(session.host!) : undefined;
    if (host) {
      if (session.presence) {
        const status = error ? "Disconnected: " + (error.text ?? error.condition) : undefined;
        this.options.dispatch(
          session,
          el("presence", { type: "unavailable" }, status ? el("status", {}, status) : undefined),
        );
        session.presence = undefined;
      }
      const bare = host.bareSessions.get(session.username!);
      if (bare?.sessions.get(session.resource!) === session) {
        bare.sessions.delete(session.resource!);
        if (bare.sessions.size === 0) host.bareSessions.delete(session.username!);
      }
      if (host.fullSessions.get(session.fullJid!) === session) {
        host.fullSessions.delete(session.fullJid!);
      }
      host.events.emit<SessionEvent>("resource-unbind", { session });
      // Messages its client stopped reading (an output overflow): offline storage.
      const stanzas = session.outbox.takeUndelivered();
      if (stanzas.length > 0) {
        host.events.emit<UndeliveredEvent>("undelivered", { session, stanzas });
      }
    }
    session.close(error);
  }

  /**
   * Accounts being removed (core/accounts.ts deleteAccount): their
   * credentials go last, so until then a login would still succeed and
   * outlive the removal; the SASL success checks this.
   */
  #removing = new Set<string>();

  beginRemoval(host: string, username: string): void {
    this.#removing.add(host + "\0" + username);
  }

  endRemoval(host: string, username: string): void {
    this.#removing.delete(host + "\0" + username);
  }

  isBeingRemoved(host: string, username: string): boolean {
    return this.#removing.has(host + "\0" + username);
  }

  setRoster(host: string, username: string, roster: unknown): void {
    const bare = this.#hosts.get(host)?.bareSessions.get(username);
    if (!bare) return;
    bare.roster = roster;
    for (const s of bare.sessions.values()) s.roster = roster;
  }
}
