/**
 * The host's event names and what each carries: one table, so `hook`,
 * `fire` and `emit` (module API and EventHub) check a handler against the
 * payload its event really has.
 *
 * - Fixed names are the keys of `EventMap`.
 * - Stanza events have names built from parts (`message/bare`,
 *   `pre-presence/remote`, `iq-set/self/<xmlns>:<name>`,
 *   `iq-result/host/<id>`): `StanzaEventName` spells them as template
 *   literal types, all carrying a StanzaEvent.
 * - Disco node events (`disco-info-node/<node>`, `disco-items-node/<node>`)
 *   carry a DiscoNodeEvent.
 * - Any other string is still accepted (a module's private event, or one
 *   being written in parallel): its payload type is whatever the handler
 *   says, as before this map existed. A name listed here must match its
 *   payload, though: a handler for `resource-bind` taking a StanzaEvent is
 *   a type error.
 *
 * A new event shared between modules belongs here (append a line with a
 * doc comment saying who fires it and what returning true means).
 */
import type { StanzaEvent, ToType } from "./router.ts";
import type { SessionDisconnectedEvent, SessionEvent } from "./sessions.ts";
import type { UndeliveredEvent } from "./session.ts";
import type { PresenceUpdatedEvent } from "./delivery.ts";
import type { UserDeletedEvent } from "./accounts.ts";
import type { BlockQuery, DirectedQuery } from "./presence_queries.ts";
import type { SubscriptionQuery } from "./subscription.ts";
import type { StreamElementEvent } from "../stream/c2s.ts";
import type { DiscoItemsEvent, DiscoNodeEvent } from "../modules/disco.ts";
import type { OfflineReplayEvent } from "../modules/offline.ts";
import type { Element } from "../xml/element.ts";

export type { StanzaEvent };

export type StanzaKind = "message" | "presence" | "iq";
export type IqType = "get" | "set" | "result" | "error";

/**
 * Stanza events: `<kind>/<toType>` (router dispatch), `pre-<kind>/<toType>`
 * (a local client's stanza before dispatch), `iq-<type>/<toType>/<rest>`
 * (delivery's iq dispatch: `<xmlns>:<name>` for get/set, the id for
 * result/error answering a server-originated iq).
 */
export type StanzaEventName =
  | `${StanzaKind}/${ToType}`
  | `pre-${StanzaKind}/${ToType}`
  | `iq-${IqType}/${ToType}/${string}`;

export type DiscoNodeEventName = `disco-${"info" | "items"}-node/${string}`;

export interface EventMap {
  /** A bound resource (fullJid set); emitted. */
  "resource-bind": SessionEvent;
  /** A resource gone for good (after its unavailable presence); emitted. */
  "resource-unbind": SessionEvent;
  /** Fired when a bound session's stream died; true keeps the session (stream management). */
  "session-disconnected": SessionDisconnectedEvent;
  /** Messages a session never got when it ended; core delivery stores them offline. */
  "undelivered": UndeliveredEvent;
  /** SASL succeeded for a session (awaited before the success is acted on). */
  "authentication-success": SessionEvent;
  /** A top-level element the core does not know (SM, CSI, in-band registration…); true takes it. */
  "stream-element": StreamElementEvent;
  /** The first available presence of a resource, applied and broadcast; emitted. */
  "presence/initial": SessionEvent;
  /** A later available presence, applied and broadcast; emitted. */
  "presence/updated": PresenceUpdatedEvent;
  /** Core delivery: a message nobody available got; true when stored (offline module). */
  "message/offline": StanzaEvent;
  /** Awaited before an account's data goes; handlers finish what needs it. */
  "user-deleting": UserDeletedEvent;
  /**
   * Awaited after an account's data went (deleteAccount); fired on the
   * account's host, then on each of its service hosts.
   */
  "user-deleted": UserDeletedEvent;
  /** Emitted once as the server shuts down: stop timers. */
  "server-stopping": Record<string, never>;
  /** Awaited before offline messages are replayed; the archive may set skipArchivedBefore. */
  "offline/replay": OfflineReplayEvent;
  /** Who has which subscription to whom (roster module fills it). */
  "roster/get-subscription": SubscriptionQuery;
  /** Whether an owner blocks a JID (blocking module fills it). */
  "blocking/is-blocked": BlockQuery;
  /** Where an owner's resources sent directed presence still standing (presence module). */
  "presence/directed": DirectedQuery;
  /** disco#items of the host without a node: push `<item/>`s (disco module). */
  "disco-items/host": DiscoItemsEvent;
  /** An account stored a new vCard (vcard-temp); emitted. */
  "vcard-updated": { username: string; vcard: Element };
  /** Operators and tests: run the archive retention sweep now; sets `expired`. */
  "mam/expire": { expired?: number };
  /**
   * The upload module stored a file (emitted on the host serving uploads):
   * metrics count files and bytes. `owner` is the uploader's bare JID.
   */
  "upload-stored": { owner: string; bytes: number };
}

/** Every name the map types. */
export type EventName = keyof EventMap | StanzaEventName | DiscoNodeEventName;

/** The payload of a typed event name. */
export type EventPayload<N> = N extends keyof EventMap ? EventMap[N]
  : N extends StanzaEventName ? StanzaEvent
  : N extends DiscoNodeEventName ? DiscoNodeEvent
  : never;

/**
 * A name the map does not type: accepted with any payload. `never` for a
 * typed name, so a handler for a typed name whose payload does not match
 * is an error instead of falling back to this overload. (With an explicit
 * type argument, `hook<T>(name, …)`, N stays `string` and the caller's T
 * is trusted, as before.)
 */
export type UntypedName<N extends string> = string extends N ? N
  : N extends EventName ? never
  : N;
