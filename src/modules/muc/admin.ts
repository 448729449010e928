/**
 * `muc#admin` (XEP-0045 §8, §9): role changes by nick (kick, voice,
 * moderator) and affiliation changes by JID (ban, member, admin, owner,
 * none), and the lists of both. A set is checked whole before anything
 * changes; then each change is applied and announced stanza by stanza:
 * 307 kick, 301 ban, 321 removed by an affiliation change in a
 * members-only room, 101 to a user who is not in the room.
 */
import { el, type Element } from "../../xml/element.ts";
import { parseJid } from "../../jid.ts";
import { StanzaError } from "../../core/errors.ts";
import type { StanzaEvent } from "../../core/router.ts";
import type { MucService } from "./service.ts";
import type { Occupant, Room } from "./room.ts";
import { type Affiliation, AFFILIATION_RANK, AFFILIATIONS, type Role, ROLES } from "./types.ts";
import { NS_MUC_ADMIN, NS_MUC_USER } from "./ns.ts";

/** Most items one admin set may carry. */
const MAX_ITEMS = 100;
const MAX_REASON = 1024;

const forbidden = (text: string) => new StanzaError("auth", "forbidden", text);
const notAllowed = (text: string) => new StanzaError("cancel", "not-allowed", text);

interface Actor {
  /** Bare JID. */
  jid: string;
  occupant: Occupant | undefined;
  affiliation: Affiliation;
}

type Change =
  | { kind: "role"; target: Occupant; role: Role; reason?: string }
  | { kind: "affiliation"; jid: string; affiliation: Affiliation; reason?: string; nick?: string };

export class AdminHandler {
  constructor(readonly svc: MucService) {}

  #actor(room: Room, ev: StanzaEvent): Actor {
    const from = parseJid(ev.stanza.attrs.from ?? "")!;
    return {
      jid: from.bare,
      occupant: room.byRealJid.get(from.full),
      affiliation: this.svc.effectiveAffiliation(room, from.bare),
    };
  }

  get = (room: Room, ev: StanzaEvent): Element => {
    const query = ev.stanza.firstElement()!;
    const item = query.getChild("item");
    if (!item) throw new StanzaError("modify", "bad-request", "Which list?");
    const actor = this.#actor(room, ev);
    const rank = AFFILIATION_RANK[actor.affiliation];
    const out = el("query", { xmlns: NS_MUC_ADMIN });
    const affiliation = item.attrs.affiliation as Affiliation | undefined;
    if (affiliation !== undefined) {
      if (!AFFILIATIONS.includes(affiliation) || affiliation === "none") {
        throw new StanzaError("modify", "bad-request", "Unknown affiliation");
      }
      // §9.5, §10.5: admins read the member and outcast lists; owners all of them.
      // Members may read the member list of a members-only room (§9.5 note), and in a
      // members-only non-anonymous room (a "private group") the admin and owner lists
      // too, as Prosody: clients encrypt (OMEMO) to every member, owners included.
      const member = actor.affiliation === "member";
      const privateGroup = room.config.membersOnly && room.config.whois === "anyone";
      const mayRead = rank >= AFFILIATION_RANK.admin ||
        (affiliation === "member" && member && room.config.membersOnly) ||
        (affiliation !== "outcast" && member && privateGroup);
      if (!mayRead) throw forbidden("You may not read that list");
      for (const [jid, entry] of room.affiliations) {
        if (entry.affiliation !== affiliation) continue;
        out.append(
          el(
            "item",
            { affiliation, jid, nick: entry.nick },
            entry.reason !== undefined && el("reason", {}, entry.reason),
          ),
        );
      }
      return out;
    }
    const role = item.attrs.role as Role | undefined;
    if (role === undefined || !ROLES.includes(role) || role === "none") {
      throw new StanzaError("modify", "bad-request", "Unknown role");
    }
    if (actor.occupant?.role !== "moderator") throw forbidden("Only moderators read role lists");
    for (const o of room.occupants.values()) {
      if (o.role !== role) continue;
      out.append(el("item", {
        role,
        nick: o.nick,
        affiliation: this.svc.effectiveAffiliation(room, o.bareJid),
        // The full JID, as the occupant's presence shows it to this moderator (§9.8).
        jid: this.svc.seesJids(room, actor.occupant) ? o.realJid ?? o.bareJid : undefined,
      }));
    }
    return out;
  };

  set = async (room: Room, ev: StanzaEvent): Promise<Element | undefined> => {
    const query = ev.stanza.firstElement()!;
    const items = query.getChildren("item");
    if (items.length === 0) throw new StanzaError("modify", "bad-request", "No items");
    if (items.length > MAX_ITEMS) {
      throw new StanzaError("modify", "policy-violation", "Too many items");
    }
    const actor = this.#actor(room, ev);
    const changes = items.map((item) => this.#check(room, actor, item));
    // Removing the last owner would leave the room without one (§10.9).
    const owners = new Set(room.owners());
    for (const c of changes) {
      if (c.kind !== "affiliation") continue;
      if (c.affiliation === "owner") owners.add(c.jid);
      else owners.delete(c.jid);
    }
    if (owners.size === 0) throw new StanzaError("cancel", "conflict", "A room needs an owner");
    this.#checkRoomForAffiliations(room, changes);
    let stored = false;
    for (const c of changes) {
      if (c.kind === "role") this.#applyRole(room, actor.occupant, c.target, c.role, c.reason);
      else {
        this.#applyAffiliation(room, actor.occupant, c.jid, c.affiliation, c.reason);
        stored = true;
      }
    }
    if (stored) await this.svc.store.save(room);
    return undefined;
  };

  #check(room: Room, actor: Actor, item: Element): Change {
    const reasonText = item.getChildText("reason");
    const reason = reasonText === undefined ? undefined : reasonText.slice(0, MAX_REASON);
    const rank = AFFILIATION_RANK[actor.affiliation];
    if (item.attrs.role !== undefined) {
      const role = item.attrs.role as Role;
      if (!ROLES.includes(role)) throw new StanzaError("modify", "bad-request", "Unknown role");
      // The right first (§8: forbidden): else a mere participant probes who is there.
      if (actor.occupant?.role !== "moderator") throw forbidden("Only moderators change roles");
      const target = item.attrs.nick !== undefined
        ? room.occupantByNick(item.attrs.nick)
        : this.#occupantByJid(room, item.attrs.jid);
      if (!target) throw new StanzaError("cancel", "item-not-found", "No such occupant");
      const targetAff = this.svc.effectiveAffiliation(room, target.bareJid);
      const targetRank = AFFILIATION_RANK[targetAff];
      if (role === "moderator" || target.role === "moderator") {
        // §9.6/§9.7: granting or revoking moderator is for admins and owners.
        if (rank < AFFILIATION_RANK.admin) throw forbidden("Only admins change moderators");
      }
      // §8.2, §8.4, §9.7: admins and owners are not kicked, silenced or demoted by role.
      if (targetRank >= AFFILIATION_RANK.admin && role !== "moderator") {
        throw notAllowed("You may not change that occupant's role");
      }
      // §8.2: "a user cannot be kicked by a moderator with a lower affiliation"; §8.4 the
      // same for voice (a moderator by role, without affiliation, silencing a member).
      if ((role === "none" || role === "visitor") && targetRank > rank) {
        throw notAllowed("That occupant's affiliation is above yours");
      }
      return { kind: "role", target, role, reason };
    }
    const affiliation = item.attrs.affiliation as Affiliation | undefined;
    if (affiliation === undefined || !AFFILIATIONS.includes(affiliation)) {
      throw new StanzaError("modify", "bad-request", "Item needs a role or an affiliation");
    }
    if (rank < AFFILIATION_RANK.admin) throw forbidden("Only admins change affiliations");
    let jid = item.attrs.jid === undefined ? undefined : parseJid(item.attrs.jid)?.bare;
    if (item.attrs.jid !== undefined && jid === undefined) {
      throw new StanzaError("modify", "jid-malformed", "Invalid jid");
    }
    if (jid === undefined && item.attrs.nick !== undefined) {
      jid = room.occupantByNick(item.attrs.nick)?.bareJid;
    }
    if (jid === undefined) throw new StanzaError("modify", "bad-request", "Which user?");
    // §9.1: an admin or owner banning themselves MUST get conflict.
    if (affiliation === "outcast" && jid === actor.jid) {
      throw new StanzaError("cancel", "conflict", "You may not ban yourself");
    }
    const current = room.affiliation(jid);
    // §9/§10: admins handle members and outcasts; owners also admins and owners.
    const touchesHigh = affiliation === "admin" || affiliation === "owner" ||
      current === "admin" || current === "owner";
    if (touchesHigh && actor.affiliation !== "owner") {
      if (affiliation === "outcast" || affiliation === "none" || affiliation === "member") {
        throw notAllowed("Admins may not change admins or owners");
      }
      throw forbidden("Only owners grant admin and owner");
    }
    return { kind: "affiliation", jid, affiliation, reason };
  }

  /**
   * The occupant a role item names by JID (§8.2 "MAY be based on the full
   * JID", §9.8 the moderator list by JID): that session's, else the user's.
   */
  #occupantByJid(room: Room, raw: string | undefined): Occupant | undefined {
    const jid = raw === undefined ? undefined : parseJid(raw);
    if (!jid) return undefined;
    const bySession = room.byRealJid.get(jid.full);
    if (bySession) return bySession;
    for (const o of room.occupants.values()) if (o.bareJid === jid.bare) return o;
    return undefined;
  }

  /**
   * The room's affiliations after the whole set stay within the bound:
   * checked item by item, each new one fits alone while a batch of them
   * (up to MAX_ITEMS) overshoots it. Removals in the same set make room.
   */
  #checkRoomForAffiliations(room: Room, changes: Change[]): void {
    const final = new Map<string, Affiliation>();
    for (const c of changes) if (c.kind === "affiliation") final.set(c.jid, c.affiliation);
    let size = room.affiliations.size;
    let added = 0;
    for (const [jid, affiliation] of final) {
      const held = room.affiliations.has(jid);
      if (!held && affiliation !== "none") {
        size++;
        added++;
      } else if (held && affiliation === "none") size--;
    }
    const max = this.svc.limits.maxAffiliations;
    if (added > 0 && size > max) {
      this.svc.api.log.info("{room}: admin set refused, over {max} affiliations", {
        room: room.jid,
        max,
      });
      throw new StanzaError("wait", "resource-constraint", "Too many affiliations");
    }
  }

  #applyRole(
    room: Room,
    actor: Occupant | undefined,
    target: Occupant,
    role: Role,
    reason?: string,
  ) {
    const svc = this.svc;
    const extras = { reason, actor: actor?.nick };
    if (role === "none") {
      svc.expel(room, target, { ...extras, codes: ["307"] });
      svc.discardIfEmpty(room);
      return;
    }
    if (target.role !== role) svc.setRole(room, target, role, extras);
  }

  #applyAffiliation(
    room: Room,
    actor: Occupant | undefined,
    jid: string,
    affiliation: Affiliation,
    reason?: string,
  ) {
    const svc = this.svc;
    const before = room.affiliation(jid);
    room.setAffiliation(jid, affiliation, reason);
    if (before === affiliation) return;
    // A domain JID bans (or unbans) that domain's users without an affiliation of their own.
    const present = [...room.occupants.values()].filter((o) =>
      o.bareJid === jid ||
      (!jid.includes("@") && o.bareJid.endsWith("@" + jid) && !room.affiliations.has(o.bareJid))
    );
    const extras = { reason, actor: actor?.nick };
    if (present.length === 0) {
      svc.announceAffiliation(room, jid, affiliation);
      // §9.3 101: tell the user, who is not in the room.
      svc.send(el(
        "message",
        { from: room.jid, to: jid, id: crypto.randomUUID() },
        el(
          "x",
          { xmlns: NS_MUC_USER },
          el("item", { affiliation, jid }, reason !== undefined && el("reason", {}, reason)),
          el("status", { code: "101" }),
        ),
      ));
      return;
    }
    for (const o of present) {
      if (affiliation === "outcast") {
        svc.expel(room, o, { ...extras, codes: ["301"] });
        continue;
      }
      const role = room.roleFor(svc.effectiveAffiliation(room, jid));
      if (role === "none") {
        svc.expel(room, o, { ...extras, codes: ["321"] });
        continue;
      }
      svc.setRole(room, o, role, extras);
    }
    svc.discardIfEmpty(room);
  }
}
