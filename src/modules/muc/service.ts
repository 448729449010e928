/**
 * The MUC service of one host: its rooms, the limits it enforces, and
 * the building blocks every handler shares (occupant presence, status
 * messages, sending, occupant ids). Handlers live in their own files
 * and take this as their context.
 */
import { isHostAdmin } from "../../core/host_admins.ts";
import { createHmac } from "node:crypto";
import { el, type Element } from "../../xml/element.ts";
import { parseJid } from "../../jid.ts";
import { StanzaError } from "../../core/errors.ts";
import type { ModuleApi } from "../../core/module_api.ts";
import type { ArchiveStore } from "../../storage/types.ts";
import { type Occupant, Room } from "./room.ts";
import type { RoomStore } from "./room_store.ts";
import { type Affiliation, defaultRoomConfig, type MucLimits, type Role } from "./types.ts";
import { NS_MUC, NS_MUC_USER, NS_OCCUPANT_ID } from "./ns.ts";

export interface PresenceExtras {
  codes?: string[];
  reason?: string;
  /** Nick of the moderator who acted. */
  actor?: string;
  /** New nick (status 303). */
  nick?: string;
  /** `<destroy/>` child (room destroyed). */
  destroy?: Element;
  /** The affiliation shown instead of the occupant's own (destroy: none). */
  affiliation?: Affiliation;
}

/** Users whose rate budget a room remembers after they left (Room.departed). */
const MAX_DEPARTED = 1000;

export class MucService {
  readonly rooms = new Map<string, Room>();
  /** The user domain this service belongs to (local users may create rooms). */
  readonly parent: string;

  constructor(
    readonly api: ModuleApi,
    readonly limits: MucLimits,
    readonly store: RoomStore,
    readonly archive: ArchiveStore,
    readonly secret: string,
  ) {
    const domain = api.domain;
    const parent = (api.host as unknown as { parent?: string }).parent;
    this.parent = parent ?? domain.slice(domain.indexOf(".") + 1);
  }

  get domain(): string {
    return this.api.domain;
  }

  /**
   * A service admin (`admins`, `hosts[].admins` of the parent)? Read from
   * the host's config each time: a reload replaces it while the module
   * stays loaded, and a removed admin must not keep owner rights.
   */
  isAdmin(bareJid: string): boolean {
    return isHostAdmin(this.api, bareJid);
  }

  newRoomConfig() {
    return defaultRoomConfig(this.limits.maxOccupants, this.limits.defaultHistoryMessages);
  }

  /** May this user create rooms (config `muc.create`)? */
  mayCreate(bareJid: string): boolean {
    if (this.isAdmin(bareJid)) return true;
    switch (this.limits.create) {
      case "anyone":
        return true;
      case "admins":
        return false;
      default:
        return parseJid(bareJid)?.domain === this.parent;
    }
  }

  createRoom(name: string, creator: string): Room {
    if (this.rooms.size >= this.limits.maxRooms) {
      throw new StanzaError("wait", "resource-constraint", "Too many rooms on this service");
    }
    const perUser = this.limits.maxRoomsPerUser;
    if (
      perUser > 0 && !this.isAdmin(creator) && this.roomsOwnedBy(creator, perUser) >= perUser
    ) {
      throw new StanzaError("wait", "resource-constraint", "You own too many rooms");
    }
    const room = new Room(name, `${name}@${this.domain}`, this.newRoomConfig());
    room.setAffiliation(creator, "owner");
    this.rooms.set(name, room);
    return room;
  }

  /**
   * Rooms `bareJid` owns, counted up to `upTo` (`muc.maxRoomsPerUser`).
   * Ownership, not creation, is what counts: a room handed over to
   * someone else stops counting, one granted counts.
   */
  roomsOwnedBy(bareJid: string, upTo: number): number {
    let n = 0;
    for (const room of this.rooms.values()) {
      if (room.affiliation(bareJid) === "owner" && ++n >= upTo) break;
    }
    return n;
  }

  /** Forget a temporary room nobody is in any more (XEP-0045 §10.1.3 temporary). */
  discardIfEmpty(room: Room): void {
    if (room.empty && !room.config.persistent && this.rooms.get(room.name) === room) {
      room.destroyed = true;
      this.rooms.delete(room.name);
      // Its history is its own: a new room of the same name starts empty.
      this.archive.delete(room.name).catch((err) =>
        this.api.log.warn("clearing the archive of {room} failed: {err}", { room: room.jid, err })
      );
    }
  }

  /** Service admins act as owners of every room. */
  effectiveAffiliation(room: Room, bareJid: string) {
    return this.isAdmin(bareJid) ? "owner" : room.affiliation(bareJid);
  }

  /** XEP-0421: stable per real bare JID and room, not reversible. */
  occupantId(room: Room, bareJid: string): string {
    return createHmac("sha256", this.secret).update(room.jid + "\0" + bareJid).digest("base64");
  }

  /** The occupant id of `o`, computed once per occupant. */
  idOf(room: Room, o: Occupant): string {
    return o.occupantId ??= this.occupantId(room, o.bareJid);
  }

  /** Does `viewer` get to see real JIDs in this room? */
  seesJids(room: Room, viewer: Occupant | undefined): boolean {
    const whois = room.config.whois;
    return whois === "anyone" || (whois === "moderators" && viewer?.role === "moderator");
  }

  /** The `<item/>` describing `o` to `viewer`. */
  item(
    room: Room,
    o: Occupant,
    viewer: Occupant | undefined,
    realJid: string | undefined,
    extras: PresenceExtras = {},
  ): Element {
    return el(
      "item",
      {
        affiliation: extras.affiliation ?? this.effectiveAffiliation(room, o.bareJid),
        role: o.role,
        jid: this.seesJids(room, viewer) ? realJid ?? o.realJid ?? o.bareJid : undefined,
        nick: extras.nick,
      },
      extras.actor !== undefined && el("actor", { nick: extras.actor }),
      extras.reason !== undefined && el("reason", {}, extras.reason),
    );
  }

  /**
   * The presence of `o` (from its occupant JID) for one recipient session:
   * the occupant's own presence children, the muc#user item and codes, its
   * occupant id. `self` adds 110.
   */
  occupantPresence(
    room: Room,
    o: Occupant,
    to: string,
    viewer: Occupant | undefined,
    type: "unavailable" | undefined,
    extras: PresenceExtras = {},
    realJid?: string,
  ): Element {
    const presence = el("presence", { from: room.occupantJid(o.nick), to, type });
    const own = type === undefined ? o.presence : undefined;
    for (const c of own?.children ?? []) {
      if (typeof c === "string") continue;
      const ns = c.attrs.xmlns;
      if (ns === NS_MUC || ns === NS_MUC_USER || ns === NS_OCCUPANT_ID) continue;
      presence.append(c);
    }
    const x = el("x", { xmlns: NS_MUC_USER }, this.item(room, o, viewer, realJid, extras));
    if (extras.destroy) x.append(extras.destroy);
    const codes = [...(extras.codes ?? [])];
    if (viewer === o) codes.push("110");
    for (const code of codes) x.append(el("status", { code }));
    presence.append(
      x,
      el("occupant-id", { xmlns: NS_OCCUPANT_ID, id: this.idOf(room, o) }),
    );
    return presence;
  }

  /** Send `o`'s presence to everyone in the room (itself included). */
  broadcastPresence(
    room: Room,
    o: Occupant,
    type: "unavailable" | undefined,
    extras: PresenceExtras = {},
    selfExtras: PresenceExtras = extras,
  ): void {
    for (const [jid, viewer] of room.recipients()) {
      this.send(
        this.occupantPresence(room, o, jid, viewer, type, viewer === o ? selfExtras : extras),
      );
    }
  }

  /**
   * In a non-anonymous room, occupants learn of an affiliation change of a
   * user not in the room (members added to or removed from a private group:
   * clients keep their member list, and the OMEMO recipients, from these;
   * Prosody sends them too).
   */
  announceAffiliation(room: Room, jid: string, affiliation: Affiliation): void {
    if (room.config.whois !== "anyone") return;
    for (const [to] of room.recipients()) {
      this.send(el(
        "message",
        { from: room.jid, to, id: crypto.randomUUID() },
        el("x", { xmlns: NS_MUC_USER }, el("item", { affiliation, jid })),
      ));
    }
  }

  /** A groupchat message from the room with status codes (config changes: 104, 170…). */
  statusMessage(room: Room, codes: string[]): void {
    if (codes.length === 0) return;
    for (const [jid] of room.recipients()) {
      this.send(el(
        "message",
        { from: room.jid, to: jid, type: "groupchat", id: crypto.randomUUID() },
        el("x", { xmlns: NS_MUC_USER }, ...codes.map((code) => el("status", { code }))),
      ));
    }
  }

  /**
   * One more stanza the room fans out for `o` (a message, a presence
   * update, a nick change): within `muc.messagesPerSecond`, bursts of
   * `muc.messageBurst`?
   */
  admit(o: Occupant, cost = 1): boolean {
    const { messagesPerSecond, messageBurst } = this.limits;
    if (messagesPerSecond === 0) return true;
    const now = Date.now();
    o.tokens = Math.min(messageBurst, o.tokens + ((now - o.refilled) / 1000) * messagesPerSecond);
    o.refilled = now;
    if (o.tokens < cost) return false;
    o.tokens -= cost;
    return true;
  }

  send(stanza: Element): void {
    const r = this.api.send(stanza);
    if (r instanceof Promise) r.catch(() => {});
  }

  /** Remove one real session from its occupant; true when the occupant left entirely. */
  removeSession(room: Room, o: Occupant, realJid: string): boolean {
    o.sessions.delete(realJid);
    room.byRealJid.delete(realJid);
    if (o.sessions.size > 0) return false;
    room.occupants.delete(o.nick);
    room.departed.delete(o.bareJid);
    room.departed.set(o.bareJid, { tokens: o.tokens, refilled: o.refilled });
    if (room.departed.size > MAX_DEPARTED) room.departed.delete(room.departed.keys().next().value!);
    return true;
  }

  /**
   * Take an occupant out (kick, ban, affiliation loss, destroy): every
   * session gets its unavailable presence, everyone else the same with
   * `extras` (codes).
   */
  expel(
    room: Room,
    o: Occupant,
    extras: PresenceExtras,
    selfExtras: PresenceExtras = extras,
  ): void {
    o.role = "none";
    this.broadcastPresence(room, o, "unavailable", extras, selfExtras);
    for (const jid of [...o.sessions.keys()]) this.removeSession(room, o, jid);
  }

  /**
   * Everyone out at once (destroy, shutdown): each session gets only its
   * own unavailable presence, nobody the others' (they all leave: telling
   * each of n occupants about the other n-1 would be n² stanzas for nothing).
   */
  expelAll(room: Room, extras: PresenceExtras): void {
    const everyone = [...room.occupants.values()];
    for (const o of everyone) {
      o.role = "none";
      for (const jid of o.sessions.keys()) {
        this.send(this.occupantPresence(room, o, jid, o, "unavailable", extras, jid));
      }
    }
    for (const o of everyone) {
      for (const jid of [...o.sessions.keys()]) this.removeSession(room, o, jid);
    }
  }

  /** Change a present occupant's role and tell the room. */
  setRole(room: Room, o: Occupant, role: Role, extras: PresenceExtras = {}): void {
    o.role = role;
    this.broadcastPresence(room, o, undefined, extras);
  }
}
