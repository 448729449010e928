/**
 * The default delivery rules of RFC 6121 §8.5 for stanzas addressed to
 * local users, and the server's own iq dispatch. Registered on every
 * host at the lowest priority, so modules (offline storage, roster,
 * presence subscriptions, carbons…) hook the same events above them and
 * take over what they handle.
 */
import type { Element } from "../xml/element.ts";
import { StanzaError } from "./errors.ts";
import { installIqDispatch } from "./iq_dispatch.ts";
import type { Host } from "./host.ts";
import type { Router, StanzaEvent } from "./router.ts";
import type { Session, UndeliveredEvent } from "./session.ts";
import { parseJid } from "../jid.ts";
import { logger } from "../log.ts";
import type { SessionEvent } from "./sessions.ts";
import type { SessionLookup } from "./session_lookup.ts";

export const DELIVERY_PRIORITY = -1000;

const log = logger("router");

export interface DeliveryContext {
  router: Router;
  sessions: SessionLookup;
}

const MESSAGE_TYPES = new Set(["chat", "error", "groupchat", "headline", "normal"]);

/**
 * A message's type for delivery: no type, or one we do not understand, is
 * "normal" (RFC 6121 §5.2.2).
 */
export function messageType(message: Element): string {
  const type = message.attrs.type;
  return type !== undefined && MESSAGE_TYPES.has(type) ? type : "normal";
}

/**
 * RFC 6121 §4.2.2 / §4.5.2: the user's own undirected presence goes to
 * each of their available resources and back to the sender.
 */
export function toOwnResources(
  sessions: SessionLookup,
  host: string,
  origin: Session,
  stanza: Element,
): void {
  for (const s of sessions.resources(host, origin.username!)) {
    if ((s.presence || s === origin) && !s.destroyed) s.send(stanza);
  }
}

/**
 * RFC 6121 §8.5.2.1: of an account's `bareTargets` (highest priority
 * first), those a message of `type` to the bare JID goes to: a headline to
 * all (§8.5.2.1.2), chat and normal to the highest-priority ones
 * (§8.5.2.1.1) — a prefix, so the list itself when they all share it.
 */
export function bareRecipients(targets: Session[], type: string): Session[] {
  if (type === "headline" || targets.length === 0) return targets;
  const top = targets[0].priority;
  const lower = targets.findIndex((s) => s.priority !== top);
  return lower === -1 ? targets : targets.slice(0, lower);
}

export function installDelivery(host: Host, ctx: DeliveryContext): void {
  const { router, sessions } = ctx;
  const on = (name: string, fn: (ev: StanzaEvent) => boolean | void | Promise<boolean | void>) =>
    host.events.on(name, fn, DELIVERY_PRIORITY);
  const unavailable = (ev: StanzaEvent) =>
    router.replyError(ev, new StanzaError("cancel", "service-unavailable"));

  /** RFC 6121 §8.5.2: message to a bare JID of a local user. */
  const messageToBare = (ev: StanzaEvent, user: string): boolean | Promise<boolean> => {
    const stanza = ev.stanza;
    const type = messageType(stanza);
    if (type === "error") return true;
    if (type === "groupchat") {
      unavailable(ev);
      return true;
    }
    const targets = sessions.bareTargets(host.domain, user);
    if (targets.length > 0) {
      for (const s of bareRecipients(targets, type)) s.send(stanza);
      return true;
    }
    if (type === "headline") return true;
    // Nobody available: offline storage (a module) may take it; otherwise
    // §8.5.2.2.1 says service-unavailable for a user that exists, and
    // §8.5.1 allows the same answer for one that does not.
    const offline = host.events.fire("message/offline", ev);
    const settle = (handled: boolean) => {
      if (!handled) unavailable(ev);
      return true;
    };
    return typeof offline === "boolean" ? settle(offline) : offline.then(settle);
  };

  on("message/bare", (ev) => messageToBare(ev, ev.to!.local!));
  on("message/self", (ev) => messageToBare(ev, ev.origin!.username!));

  on("message/full", (ev) => {
    const target = sessions.full(ev.to!.full, host.domain);
    if (target) {
      target.send(ev.stanza);
      return true;
    }
    // §8.5.3.2.1: no such resource. Only chat goes on as if sent to the
    // bare JID; normal and groupchat are answered (the sender may retry the
    // bare JID), headline and error silently dropped.
    const type = messageType(ev.stanza);
    if (type === "chat") return messageToBare(ev, ev.to!.local!);
    if (type === "normal" || type === "groupchat") unavailable(ev);
    return true;
  });

  on("presence/full", (ev) => {
    // Directed presence to a connected resource; subscription management
    // and probes belong to the presence module.
    const type = ev.stanza.attrs.type;
    if (type === undefined || type === "unavailable") {
      sessions.full(ev.to!.full, host.domain)?.send(ev.stanza);
    }
    return true;
  });

  on("presence/bare", (ev) => {
    const type = ev.stanza.attrs.type;
    if (type === undefined || type === "unavailable") {
      for (const s of sessions.available(host.domain, ev.to!.local!)) s.send(ev.stanza);
    }
    return true;
  });

  // Undirected presence: the session's availability and priority, and the
  // broadcast to the user's own available resources (RFC 6121 §4.2.2).
  on("presence/self", (ev) => {
    const origin = ev.origin;
    if (!origin) return true;
    const stanza = ev.stanza;
    const type = stanza.attrs.type;
    const initial = type === undefined && origin.presence === undefined;
    const previousPriority = origin.priority;
    if (type === undefined) {
      origin.priority = parsePriority(stanza);
      origin.presence = stanza;
    } else if (type === "unavailable") {
      origin.presence = undefined;
    } else {
      return true;
    }
    toOwnResources(sessions, host.domain, origin, stanza);
    presenceApplied(host, origin, type === undefined ? initial : undefined, previousPriority);
    return true;
  });

  // A session that stopped reading was closed with messages it never got
  // (its output overflowed): they are offline messages now, in order, as
  // if they had come in after it left. The offline module decides which it
  // keeps (chat and normal worth storing, RFC 6121 §8.5.2.2); the rest of
  // chat and normal is bounced like any message offline storage refuses.
  host.events.on<UndeliveredEvent>("undelivered", ({ session, stanzas }) => {
    const to = parseJid(session.bareJid ?? "");
    if (!to) return true;
    for (const stanza of stanzas) {
      const type = messageType(stanza);
      if (type !== "chat" && type !== "normal") continue;
      const ev: StanzaEvent = { origin: undefined, stanza, to, host };
      // Fired one after another without waiting, so storage keeps their order.
      const stored = host.events.fire("message/offline", ev);
      const settle = (handled: boolean) => {
        if (!handled) unavailable(ev);
      };
      if (typeof stored === "boolean") settle(stored);
      else {
        stored.then(settle, (err) => {
          log.error("storing an undelivered message failed: {err}", { err });
        });
      }
    }
    return true;
  }, DELIVERY_PRIORITY);

  on("presence/host", () => true);
  // RFC 6120 §10.3: a message to the server itself may be ignored.
  on("message/host", () => true);

  // Other domains: the s2s module hooks these above; until then there is
  // no route (RFC 6120 §8.3.3.15).
  const noRoute = (ev: StanzaEvent) => {
    router.replyError(ev, new StanzaError("cancel", "remote-server-not-found"));
    return true;
  };
  on("message/remote", noRoute);
  on("iq/remote", noRoute);
  on("presence/remote", (ev) => {
    // Presence errors are not bounced for broadcasts, only for directed ones.
    if (ev.stanza.attrs.type === undefined || ev.stanza.attrs.type === "unavailable") return true;
    return noRoute(ev);
  });

  // iq: to a full JID is delivered as is; to the server, the account or
  // another account it becomes `iq-<type>/<to-type>/<xmlns>:<name>` (iq_dispatch.ts).
  on("iq/full", (ev) => {
    const target = sessions.full(ev.to!.full, host.domain);
    if (target) {
      target.send(ev.stanza);
      return true;
    }
    const type = ev.stanza.attrs.type;
    if (type === "get" || type === "set") unavailable(ev);
    return true;
  });
  installIqDispatch(host, router, ["host", "bare", "self"], DELIVERY_PRIORITY);
}

/**
 * Fired (emitted) on the host as `presence/updated` once an already
 * available resource's new available presence is applied (its `priority`
 * and `presence` set) and broadcast; `presence/initial` (a SessionEvent)
 * is its counterpart for the first one. What must follow the presence
 * (XEP-0160 offline delivery when the priority becomes non-negative)
 * hooks these instead of `presence/self`, whose handlers run before it
 * is applied.
 */
export interface PresenceUpdatedEvent {
  session: Session;
  /** The priority the resource had before this presence. */
  previousPriority: number;
}

/**
 * What every `presence/self` handler that applies undirected presence
 * (the core's below, the presence module's) calls after the broadcast:
 * `initial` true for the first available presence, false for an update,
 * undefined for unavailable presence (nothing is fired).
 */
export function presenceApplied(
  host: Host,
  session: Session,
  initial: boolean | undefined,
  previousPriority: number,
): void {
  if (initial === true) host.events.emit<SessionEvent>("presence/initial", { session });
  else if (initial === false) {
    host.events.emit<PresenceUpdatedEvent>("presence/updated", { session, previousPriority });
  }
}

/** `<priority/>` as an integer in -128..127, 0 when absent or invalid (RFC 6121 §4.7.2.3). */
export function parsePriority(presence: Element): number {
  const text = presence.getChildText("priority");
  if (text === undefined) return 0;
  const n = Number.parseInt(text.trim(), 10);
  if (!Number.isFinite(n)) return 0;
  return Math.max(-128, Math.min(127, n));
}
