/**
 * The module API: everything a module may use — the reference for module
 * authors. A module exports `{ name, setup(api) }` and is loaded once per
 * host that enables it (core/module_loader.ts); it never imports another
 * module's internals.
 *
 * Lifetime. Everything registered through the API — hooks, features,
 * identities, account and stream features, providers, timers, pending
 * `sendIq`s, `onUnload` cleanups — belongs to the module and goes when it
 * is unloaded (`unloadModule(host, name)`). Each registering call returns
 * its remover for undoing it earlier. State a module keeps elsewhere
 * (storage, session.ext) is its own business: clean it in `onUnload`.
 *
 * Events (`hook`, `fire`, `emit`). Names and payloads are typed by the
 * event map (core/event_map.ts): fixed names (`resource-bind`,
 * `user-deleted`…), stanza events built from parts (`message/bare`,
 * `pre-presence/remote`, `iq-set/self/<xmlns>:<name>`,
 * `iq-result/host/<id>`) carrying a StanzaEvent, and any other string
 * with the payload type the caller gives. Handlers run highest priority
 * first; the first returning true stops the event.
 *
 * Iq requests (`handleIq`). The handler returns its answer and the API
 * sends the one reply: an Element (the result's payload), EMPTY_RESULT
 * (an empty result), nothing (not handled here: lower handlers, else
 * `service-unavailable`), or throws a StanzaError (that error). See
 * core/iq_handler.ts. Iqs answered by someone else (forwarded) still use
 * `hook` and reply themselves.
 *
 * Iq queries (`sendIq`): the answer as a promise, with a timeout (see
 * core/send_iq.ts).
 *
 * Providers (`provide`, `items`): modules offer each other items (ad-hoc
 * commands, disco items, form fields) through the host's registry (see
 * core/providers.ts).
 */
import type { Config } from "../config/schema.ts";
import type { AuthProvider } from "../auth/types.ts";
import type { ArchiveStore, KeyValStore, MapStore, StorageDriver } from "../storage/types.ts";
import { el, type Element } from "../xml/element.ts";
import type { StanzaError, StreamError } from "./errors.ts";
import type { Handler, Remover } from "./events.ts";
import type { EventName, EventPayload, UntypedName } from "./event_map.ts";
import {
  EMPTY_RESULT,
  iqEventHandler,
  iqEventNames,
  type IqHandler,
  type IqRoute,
} from "./iq_handler.ts";
import { sendIq, type SendIqOptions } from "./send_iq.ts";
import type { ProviderKind, ProviderMap } from "./providers.ts";
import { addCounted, ModuleRegistrations, pushRemovable } from "./module_registrations.ts";
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
  /**
   * Handle an event on this host; return true to stop it there. Returns
   * the remover. Typed by the event map for its names (see above).
   */
  hook<K extends EventName>(
    event: K,
    handler: Handler<EventPayload<K>>,
    priority?: number,
  ): Remover;
  hook<T = StanzaEvent, N extends string = string>(
    event: UntypedName<N>,
    handler: Handler<T>,
    priority?: number,
  ): Remover;
  /** Fire an event on this host; true (or a promise of it) when handled. */
  fire<K extends EventName>(event: K, data: EventPayload<K>): boolean | Promise<boolean>;
  fire<T, N extends string = string>(event: UntypedName<N>, data: T): boolean | Promise<boolean>;
  /** Notify an event on this host without waiting; failures are logged. */
  emit<K extends EventName>(event: K, data: EventPayload<K>): void;
  emit<T, N extends string = string>(event: UntypedName<N>, data: T): void;
  /**
   * Answer iq get/set requests for `<route.xmlns>:<route.name>` addressed
   * as `route.to` says (default: the host). The handler returns the
   * result payload, EMPTY_RESULT (`api.EMPTY_RESULT`) for an empty result,
   * nothing to leave it to lower handlers (in the end
   * `service-unavailable`), or throws a StanzaError; it may be async and
   * must not reply itself. Returns the remover.
   */
  handleIq(route: IqRoute, handler: IqHandler): Remover;
  /** The marker an iq handler returns for an empty result. */
  readonly EMPTY_RESULT: typeof EMPTY_RESULT;
  /**
   * Send an iq get/set from this host (no `from`, or the domain) or on
   * behalf of an account (`from` its bare JID) and wait for the answer:
   * the result iq, or a rejection with a StanzaError (the error reply's
   * condition; IqTimeoutError after `timeoutMs`, default 30 s). The id is
   * set here (random); only an answer from the iq's `to` counts.
   */
  sendIq(iq: Element, opts?: SendIqOptions): Promise<Element>;
  /** Offer an item to other modules of this host; returns the remover. */
  provide<K extends ProviderKind>(kind: K, item: ProviderMap[K]): Remover;
  provide<T>(kind: string, item: T): Remover;
  /** What modules of this host offer now under `kind`, in the order offered. */
  items<K extends ProviderKind>(kind: K): ProviderMap[K][];
  items<T>(kind: string): T[];
  /**
   * Run `fn` every `ms` until the remover runs or the module is
   * unloaded; never keeps the process alive; a failure (sync or async)
   * is logged.
   */
  setInterval(fn: () => unknown, ms: number): Remover;
  /** Run `fn` once after `ms` (same rules as setInterval). */
  setTimeout(fn: () => unknown, ms: number): Remover;
  /** Run `fn` when the module is unloaded (its own state: caches, sessions' ext…). */
  onUnload(fn: () => void): Remover;
  /** Advertise a feature in this host's disco#info. Returns the remover. */
  addFeature(ns: string): Remover;
  addIdentity(identity: DiscoIdentity): Remover;
  /** Advertise a feature in disco#info of every account (user bare JID). */
  addAccountFeature(ns: string): Remover;
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
  addStreamFeature(provider: StreamFeatureProvider): Remover;
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

/**
 * The API a module gets on `host`. `registrations` tracks what it
 * registers for unloading (module_loader.ts passes one; without it,
 * nothing can be unloaded).
 */
export function createModuleApi(
  module: string,
  host: Host,
  parts: ServerParts,
  registrations = new ModuleRegistrations(logger("mod", module)),
): ModuleApi {
  const { router, storage } = parts;
  const log = logger("mod", module);
  const track = (remover: Remover) => registrations.track(remover);
  const on = (event: string, handler: Handler<never>, priority?: number) =>
    track(host.events.on<never>(event, handler, priority));
  const replyResult = (ev: StanzaEvent, payload?: Element) => {
    const iq = ev.stanza;
    const result = el("iq", {
      type: "result",
      id: iq.attrs.id,
      to: iq.attrs.from,
      from: iq.attrs.to,
    });
    replyTo(router, ev, payload ? result.append(payload) : result);
  };
  const failed = (what: string) => (err: unknown) =>
    log.error("{what} failed: {err}", { what, err });
  const timer = (fn: () => unknown, ms: number, repeat: boolean): Remover => {
    const run = () => {
      try {
        const r = fn();
        if (r instanceof Promise) r.catch(failed("timer"));
      } catch (err) {
        failed("timer")(err);
      }
    };
    const id = repeat ? setInterval(run, ms) : setTimeout(() => {
      remove();
      run();
    }, ms);
    Deno.unrefTimer(id);
    const remove = track(() => (repeat ? clearInterval(id) : clearTimeout(id)));
    return remove;
  };
  const api: ModuleApi = {
    host,
    domain: host.domain,
    config: parts.config,
    log,
    sessions: parts.sessions,
    endSession: (session, error) => parts.sessions.destroySession(session, error),
    connectionLost: (session, error) => parts.sessions.disconnected(session, error),
    auth: parts.auth,
    components: parts.components,
    hook: on as ModuleApi["hook"],
    fire: ((event: string, data: never) => host.events.fire(event, data)) as ModuleApi["fire"],
    emit: ((event: string, data: never) => host.events.emit(event, data)) as ModuleApi["emit"],
    handleIq: (route, handler) => {
      const fn = iqEventHandler(handler, {
        result: replyResult,
        failed: (ev, err) => router.failed(ev, err),
        warn: (message, props) => log.warn(message, props),
      });
      const removers = iqEventNames(route).map((name) =>
        on(name, fn as Handler<never>, route.priority)
      );
      return () => removers.forEach((r) => r());
    },
    EMPTY_RESULT,
    sendIq: (iq, opts) =>
      sendIq(
        {
          domain: host.domain,
          on: (name, fn) => host.events.on<StanzaEvent>(name, fn),
          send: (stanza) => router.route(stanza),
          track,
        },
        iq,
        opts,
      ),
    provide:
      ((kind: string, item: unknown) => track(host.providers.provide(kind, item))) as ModuleApi[
        "provide"
      ],
    items: ((kind: string) => host.providers.items(kind)) as ModuleApi["items"],
    setInterval: (fn, ms) => timer(fn, ms, true),
    setTimeout: (fn, ms) => timer(fn, ms, false),
    onUnload: (fn) => track(fn),
    addFeature: (ns) => track(addCounted(host.discoFeatures, ns)),
    addIdentity: (identity) => track(pushRemovable(host.discoIdentities, identity)),
    addAccountFeature: (ns) => track(addCounted(host.accountFeatures, ns)),
    createAccount: (username, password) =>
      createAccount(accountStores(parts), host.domain, username, password),
    deleteAccount: (username) => deleteAccount(parts, host, username),
    addStreamFeature: (provider) => track(pushRemovable(host.streamFeatures, provider)),
    keyval: (store) => storage.keyval(host.domain, store),
    map: (store) => storage.map(host.domain, store),
    archive: (store) => storage.archive(host.domain, store),
    send: (stanza) => router.route(stanza),
    replyError: (ev, error) => router.replyError(ev, error),
    reply: (ev, stanza) => replyTo(router, ev, stanza),
    replyResult,
  };
  return api;
}

function replyTo(router: Router, ev: StanzaEvent, stanza: Element): void {
  const origin = ev.origin;
  if (origin) {
    if (!origin.destroyed) origin.send(stanza);
  } else if (stanza.attrs.to !== undefined) {
    router.route(stanza);
  }
}
