/**
 * The module API: everything a module may use. A module exports
 * `{ name, setup(api) }` and is loaded once per host that enables it; it
 * never imports another module's internals.
 */
import type { Config } from "../config/schema.ts";
import type { AuthProvider } from "../auth/types.ts";
import type { ArchiveStore, KeyValStore, MapStore, StorageDriver } from "../storage/types.ts";
import { el, type Element } from "../xml/element.ts";
import type { StanzaError, StreamError } from "./errors.ts";
import type { Handler } from "./events.ts";
import type { DiscoIdentity, Host, StreamFeatureProvider } from "./host.ts";
import { type AccountCreation, accountStores, createAccount, deleteAccount } from "./accounts.ts";
import type { Router, StanzaEvent } from "./router.ts";
import type { SessionRegistry } from "./sessions.ts";
import type { SessionLookup } from "./session_lookup.ts";
import type { Session } from "./session.ts";
import type { ComponentRegistry } from "./components.ts";
import { type Logger, logger } from "../log.ts";

export interface ModuleApi {
  readonly host: Host;
  readonly domain: string;
  readonly config: Config;
  readonly log: Logger;
  /** Finding sessions: by full JID, by account with priorities (see SessionLookup). */
  readonly sessions: SessionLookup;
  /**
   * End a session for good (a ping unanswered, an account removed): the
   * registry's destroySession (unavailable presence, unbind, stream closed
   * with `error`).
   */
  endSession(session: Session, error?: StreamError): void;
  /**
   * The session's connection is dead (a ping unanswered): the stream ends
   * with `error`, but the session may outlive it — the registry's
   * `disconnected`, where stream management keeps a resumable session
   * (XEP-0198 §5) and anything else is destroyed as by `endSession`.
   */
  connectionLost(session: Session, error?: StreamError): void;
  readonly auth: AuthProvider;
  /** External components (XEP-0114): configured domains and live streams. */
  readonly components: ComponentRegistry;
  /** Handle an event on this host; return true to stop it there. */
  hook<T = StanzaEvent>(event: string, handler: Handler<T>, priority?: number): void;
  /** Fire an event on this host; true (or a promise of it) when handled. */
  fire<T>(event: string, data: T): boolean | Promise<boolean>;
  /** Notify an event on this host without waiting; failures are logged. */
  emit<T>(event: string, data: T): void;
  /** Advertise a feature in this host's disco#info. */
  addFeature(ns: string): void;
  addIdentity(identity: DiscoIdentity): void;
  /** Advertise a feature in disco#info of every account (user bare JID). */
  addAccountFeature(ns: string): void;
  /**
   * Create an account; refused when the name exists or is held by a
   * deleted account's tombstone (`accounts.tombstoneDays`).
   */
  createAccount(username: string, password: string): Promise<AccountCreation>;
  /**
   * Remove an account for good: its sessions are closed, every stored item
   * deleted, the credentials removed, a tombstone left, and `user-deleted` fired.
   */
  deleteAccount(username: string): Promise<void>;
  addStreamFeature(provider: StreamFeatureProvider): void;
  keyval(store: string): KeyValStore;
  map(store: string): MapStore;
  archive(store: string): ArchiveStore;
  /**
   * Route a stanza made by this module (its `to` names the destination).
   * A promise means the recipient side is still handling it (it settles
   * when done and never rejects); await it where what this module sends
   * next must come after that handling's effects (see Router.route).
   */
  send(stanza: Element): void | Promise<void>;
  /** Answer a stanza event with an error. */
  replyError(ev: StanzaEvent, error: StanzaError): void;
  /**
   * Send `stanza` back to whoever sent `ev.stanza`: its session when it
   * is a local client (dropped if that session ended), else routed (a
   * peer server or component).
   */
  reply(ev: StanzaEvent, stanza: Element): void;
  /**
   * Answer an iq get/set with a result carrying `payload`: addressed to
   * the requester, from the JID it asked (no `from` when it named none,
   * RFC 6120 §8.1.2.1), delivered as `reply` does.
   */
  replyResult(ev: StanzaEvent, payload?: Element): void;
}

export interface ParleyModule {
  name: string;
  setup(api: ModuleApi): void | Promise<void>;
}

export interface ServerParts {
  config: Config;
  router: Router;
  sessions: SessionRegistry;
  storage: StorageDriver;
  auth: AuthProvider;
  components: ComponentRegistry;
}

export function createModuleApi(module: string, host: Host, parts: ServerParts): ModuleApi {
  const { router, storage } = parts;
  return {
    host,
    domain: host.domain,
    config: parts.config,
    log: logger("mod", module),
    sessions: parts.sessions,
    endSession: (session, error) => parts.sessions.destroySession(session, error),
    connectionLost: (session, error) => parts.sessions.disconnected(session, error),
    auth: parts.auth,
    components: parts.components,
    hook: (event, handler, priority) => void host.events.on(event, handler, priority),
    fire: (event, data) => host.events.fire(event, data),
    emit: (event, data) => host.events.emit(event, data),
    addFeature: (ns) => void host.discoFeatures.add(ns),
    addIdentity: (identity) => void host.discoIdentities.push(identity),
    addAccountFeature: (ns) => void host.accountFeatures.add(ns),
    createAccount: (username, password) =>
      createAccount(accountStores(parts), host.domain, username, password),
    deleteAccount: (username) => deleteAccount(parts, host, username),
    addStreamFeature: (provider) => void host.streamFeatures.push(provider),
    keyval: (store) => storage.keyval(host.domain, store),
    map: (store) => storage.map(host.domain, store),
    archive: (store) => storage.archive(host.domain, store),
    send: (stanza) => router.route(stanza),
    replyError: (ev, error) => router.replyError(ev, error),
    reply: (ev, stanza) => replyTo(router, ev, stanza),
    replyResult: (ev, payload) => {
      const iq = ev.stanza;
      const result = el("iq", {
        type: "result",
        id: iq.attrs.id,
        to: iq.attrs.from,
        from: iq.attrs.to,
      });
      replyTo(router, ev, payload ? result.append(payload) : result);
    },
  };
}

function replyTo(router: Router, ev: StanzaEvent, stanza: Element): void {
  const origin = ev.origin;
  if (origin) {
    if (!origin.destroyed) origin.send(stanza);
  } else if (stanza.attrs.to !== undefined) {
    router.route(stanza);
  }
}
