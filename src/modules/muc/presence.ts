/**
 * Presence to an occupant JID (XEP-0045 §7.2–§7.4, §7.6, §7.14):
 * entering a room (creating it when it does not exist), presence
 * updates, nick changes (303) and leaving. A user's several sessions
 * that join under the same nick share one occupant.
 */
import { el, type Element } from "../../xml/element.ts";
import type { Jid } from "../../jid.ts";
import { parseJid } from "../../jid.ts";
import { StanzaError } from "../../core/errors.ts";
import type { StanzaEvent } from "../../core/router.ts";
import type { MucService } from "./service.ts";
import { Occupant, type Room } from "./room.ts";
import { sendHistory } from "./history.ts";
import { NS_MUC, NS_MUC_USER, NS_OCCUPANT_ID } from "./ns.ts";
import { OncePerWindow } from "../../util/once_per_window.ts";
import { prepNick } from "./nick.ts";
import { FailureThrottle } from "../../auth/throttle.ts";

/** Wrong passwords one user may give one room per window before its joins wait. */
const PASSWORD_FAILURES_MAX = 5;
const PASSWORD_FAILURES_WINDOW_S = 60;
/** (room, user) pairs tracked at once; the oldest go first. */
const PASSWORD_FAILURE_KEYS_MAX = 10_000;

/** The nick as the client wrote it in `to` (210 when the room's differs). */
function askedNick(stanza: Element): string {
  const asked = stanza.attrs.to ?? "";
  return asked.slice(asked.indexOf("/") + 1);
}

/** The status codes a join (or a rejoin) gets, and no later self-presence: 100, 170. */
function joinCodes(room: Room): string[] {
  const codes: string[] = [];
  if (room.config.whois === "anyone") codes.push("100");
  if (room.config.archiving) codes.push("170");
  return codes;
}

export class PresenceHandler {
  constructor(readonly svc: MucService) {}

  /** presence/full on the service: to room@service/nick. */
  handle = async (ev: StanzaEvent): Promise<boolean> => {
    const stanza = ev.stanza;
    const from = parseJid(stanza.attrs.from ?? "");
    const to = ev.to!;
    if (!from) return true;
    const type = stanza.attrs.type;
    const room = this.svc.rooms.get(to.local!);
    if (type === "unavailable" || type === "error") {
      if (room) this.leave(room, from.full, type === "error", stanza);
      return true;
    }
    // Subscriptions and probes mean nothing to a room.
    if (type !== undefined) return true;
    // Resourceprep'd (nick.ts): look-alikes collide; "" when it cannot be a nick.
    const nick = prepNick(to.resource!) ?? "";
    const present = room?.byRealJid.get(from.full);
    if (room && present) {
      // Every update is fanned out to the whole room: rate-limited like messages.
      if (!this.svc.admit(present)) {
        this.svc.api.log.debug("{jid}: presence to {room} over the rate, dropped", {
          jid: from.full,
          room: room.jid,
        });
        return true;
      }
      if (present.nick !== nick) this.changeNick(room, present, from.full, nick, stanza);
      else if (stanza.getChild("x", NS_MUC)) await this.rejoin(room, present, from.full, stanza);
      else this.update(room, present, from.full, stanza);
      return true;
    }
    await this.join(ev, from, to, nick);
    return true;
  };

  async join(ev: StanzaEvent, from: Jid, to: Jid, nick: string): Promise<void> {
    const svc = this.svc;
    const stanza = ev.stanza;
    const mucX = stanza.getChild("x", NS_MUC);
    this.checkNick(nick);
    let room = svc.rooms.get(to.local!);
    let created = false;
    if (!room) {
      if (!svc.mayCreate(from.bare)) {
        throw new StanzaError("cancel", "not-allowed", "You may not create rooms here");
      }
      room = svc.createRoom(to.local!, from.bare);
      // A client that does not speak MUC (no <x/>) could never unlock it (§10.1.2 note).
      room.locked = mucX !== undefined;
      created = true;
    }
    const affiliation = svc.effectiveAffiliation(room, from.bare);
    const shared = room.occupants.get(nick);
    try {
      if (room.locked && affiliation !== "owner") {
        throw new StanzaError("cancel", "item-not-found", "The room is being set up");
      }
      if (affiliation === "outcast") throw new StanzaError("auth", "forbidden", "You are banned");
      if (shared && shared.bareJid !== from.bare) {
        throw new StanzaError("cancel", "conflict", "That nick is in use");
      }
      this.checkReserved(room, from.bare, nick);
      if (shared && shared.sessions.size >= svc.limits.maxSessionsPerOccupant) {
        this.#sessionsRefused(room, from.bare);
        throw new StanzaError("wait", "resource-constraint", "Too many sessions under this nick");
      }
      if (!shared) {
        if (room.config.membersOnly && affiliation === "none") {
          throw new StanzaError("auth", "registration-required", "Members only");
        }
        if (room.config.password !== "" && affiliation !== "owner") {
          this.#checkPassword(room, from.bare, mucX?.getChildText("password"));
        }
        const full = room.occupants.size >= Math.min(room.config.maxUsers, svc.limits.maxOccupants);
        if (full && affiliation !== "owner" && affiliation !== "admin") {
          throw new StanzaError("wait", "service-unavailable", "The room is full");
        }
      }
    } catch (err) {
      if (created) svc.discardIfEmpty(room);
      throw err;
    }
    const presence = stanza;
    let occupant = shared;
    if (occupant) {
      occupant.sessions.set(from.full, presence);
      room.byRealJid.set(from.full, occupant);
    } else {
      occupant = new Occupant(nick, from.bare, room.roleFor(affiliation), svc.limits.messageBurst);
      // A rejoin costs one stanza of the rate left over from the last stay.
      const budget = room.departed.get(from.bare);
      if (budget) {
        occupant.tokens = budget.tokens;
        occupant.refilled = budget.refilled;
        if (!svc.admit(occupant)) {
          throw new StanzaError("wait", "resource-constraint", "Rejoining too fast");
        }
        room.departed.delete(from.bare);
      }
      // Everyone already there, to the newcomer (§7.2.3), before the newcomer's own.
      this.#othersTo(room, occupant, from.full);
      occupant.sessions.set(from.full, presence);
      room.occupants.set(nick, occupant);
      room.byRealJid.set(from.full, occupant);
    }
    // 100 and 170 come with the join only (§7.2.10, §7.2.12), not with every later
    // self-presence (clients print them each time).
    const selfCodes = joinCodes(room);
    if (created && room.locked) selfCodes.push("201");
    // §7.2.? 210: the nick asked for was not the one given (prepared: case, width, normalization).
    if (askedNick(stanza) !== nick) selfCodes.push("210");
    if (shared) {
      this.#othersTo(room, occupant, from.full);
      svc.send(
        svc.occupantPresence(
          room,
          occupant,
          from.full,
          occupant,
          undefined,
          { codes: selfCodes },
          from.full,
        ),
      );
    } else {
      svc.broadcastPresence(room, occupant, undefined, {}, { codes: selfCodes });
    }
    if (created && !room.locked) await svc.store.save(room);
    await this.historyAndSubject(room, from.full, mucX);
  }

  /** History, then the subject, always, last: clients take it as the end of the join (§7.2.16). */
  async historyAndSubject(room: Room, to: string, mucX: Element | undefined): Promise<void> {
    const svc = this.svc;
    await sendHistory(svc, room, to, mucX?.getChild("history"));
    svc.send(el(
      "message",
      {
        from: room.subject.by ? room.occupantJid(room.subject.by) : room.jid,
        to,
        type: "groupchat",
        id: crypto.randomUUID(),
      },
      el("subject", {}, room.subject.text),
      // XEP-0421: a message from an occupant JID carries its occupant id.
      room.subject.by !== "" && room.subject.occupantId !== undefined &&
        el("occupant-id", { xmlns: NS_OCCUPANT_ID, id: room.subject.occupantId }),
    ));
  }

  /**
   * A join from a session the room has in already (a client that lost its
   * state, or rejoining after a failed self-ping, XEP-0410): the session
   * gets the whole join again — occupants, its own presence with the join
   * codes, history, subject — instead of a bare presence update it would
   * wait on for ever. The others see a presence update.
   */
  async rejoin(room: Room, o: Occupant, realJid: string, stanza: Element): Promise<void> {
    const svc = this.svc;
    o.sessions.set(realJid, stanza);
    this.#othersTo(room, o, realJid);
    const codes = joinCodes(room);
    for (const [jid, viewer] of room.recipients()) {
      const extras = jid === realJid ? { codes } : {};
      svc.send(svc.occupantPresence(room, o, jid, viewer, undefined, extras, realJid));
    }
    await this.historyAndSubject(room, realJid, stanza.getChild("x", NS_MUC));
  }

  /** Every other occupant's presence, to the session `realJid` of `o` (§7.2.3). */
  #othersTo(room: Room, o: Occupant, realJid: string): void {
    const svc = this.svc;
    for (const other of room.occupants.values()) {
      if (other !== o) svc.send(svc.occupantPresence(room, other, realJid, o, undefined));
    }
  }

  /**
   * Wrong room passwords per (room, user): a password is the whole of a
   * room's protection, and without a limit a user (or a remote server on
   * behalf of made-up users of its own) could try it as fast as joins go.
   * Counted per user, so a guesser locks out only themselves.
   */
  readonly #passwordFailures = new FailureThrottle(
    PASSWORD_FAILURES_MAX,
    PASSWORD_FAILURES_WINDOW_S,
    Date.now,
    PASSWORD_FAILURE_KEYS_MAX,
  );

  #checkPassword(room: Room, bare: string, given: string | undefined): void {
    const key = room.jid + " " + bare;
    if (this.#passwordFailures.isBlocked(key)) {
      throw new StanzaError("wait", "resource-constraint", "Too many wrong passwords: try later");
    }
    if (given === room.config.password) {
      this.#passwordFailures.succeed(key);
      return;
    }
    this.#passwordFailures.fail(key);
    if (this.#passwordFailures.isBlocked(key)) {
      this.svc.api.log.info("{jid}: wrong passwords for {room}, joins held for a while", {
        jid: bare,
        room: room.jid,
      });
    }
    throw new StanzaError("auth", "not-authorized", "Wrong or missing password");
  }

  /** Refused joins logged once a minute per user: a remote peer may try without end. */
  readonly #refusals = new OncePerWindow();

  #sessionsRefused(room: Room, bare: string): void {
    const silent = this.#refusals.note(bare);
    if (silent === undefined) return;
    this.svc.api.log.info(
      "{jid}: join of {room} refused, over muc.maxSessionsPerOccupant; {silent} more since",
      { jid: bare, room: room.jid, silent },
    );
  }

  checkNick(nick: string): void {
    if (nick.length === 0 || [...nick].length > this.svc.limits.maxNickLength) {
      throw new StanzaError("modify", "jid-malformed", "Invalid nick");
    }
  }

  /**
   * §7.2.9, §7.10: a nick reserved by another user is `conflict`; with
   * `muc.enforceReservedNicks`, a user who reserved a nick must use it
   * (`not-acceptable`, as Prosody's enforce_registered_nickname).
   */
  checkReserved(room: Room, bareJid: string, nick: string): void {
    const reservedBy = room.nickOwner(nick);
    if (reservedBy !== undefined && reservedBy !== bareJid) {
      throw new StanzaError("cancel", "conflict", "That nick is reserved");
    }
    const own = room.reservedNick(bareJid);
    if (this.svc.limits.enforceReservedNicks && own !== undefined && own !== nick) {
      throw new StanzaError("cancel", "not-acceptable", `Use your reserved nick: ${own}`);
    }
  }

  update(room: Room, o: Occupant, realJid: string, stanza: Element): void {
    o.sessions.set(realJid, stanza);
    this.svc.broadcastPresence(room, o, undefined);
  }

  changeNick(room: Room, o: Occupant, realJid: string, nick: string, stanza: Element): void {
    const svc = this.svc;
    const fail = (err: StanzaError) => {
      const reply = el(
        "presence",
        // From the occupant JID asked for, as written (it may not prepare to any nick).
        { from: stanza.attrs.to, to: realJid, type: "error" },
        err.toElement(),
      );
      svc.send(reply);
    };
    try {
      this.checkNick(nick);
    } catch (err) {
      return fail(err as StanzaError);
    }
    if (room.occupants.has(nick)) {
      return fail(new StanzaError("cancel", "conflict", "That nick is in use"));
    }
    try {
      this.checkReserved(room, o.bareJid, nick);
    } catch (err) {
      return fail(err as StanzaError);
    }
    // §7.6: unavailable from the old nick with 303 and the new nick, then available from the new.
    svc.broadcastPresence(room, o, "unavailable", { codes: ["303"], nick });
    room.occupants.delete(o.nick);
    o.nick = nick;
    room.occupants.set(nick, o);
    o.sessions.set(realJid, stanza);
    // 210 as on joining: the nick given is not the one written.
    const selfCodes = askedNick(stanza) !== nick ? ["210"] : [];
    svc.broadcastPresence(room, o, undefined, {}, { codes: selfCodes });
  }

  /** A session leaves (unavailable) or failed (error presence: 333 for the others). */
  leave(room: Room, realJid: string, failed: boolean, stanza: Element): void {
    const svc = this.svc;
    const o = room.byRealJid.get(realJid);
    if (!o) return;
    if (o.sessions.size > 1) {
      // Other sessions stay: only this one is told it left.
      svc.send(svc.occupantPresence(room, o, realJid, o, "unavailable", {}, realJid));
      svc.removeSession(room, o, realJid);
      return;
    }
    const status = stanza.getChild("status");
    o.role = "none";
    for (const [jid, viewer] of room.recipients()) {
      const presence = svc.occupantPresence(room, o, jid, viewer, "unavailable", {
        codes: failed ? ["333"] : [],
      });
      if (status && !failed) presence.children.unshift(status);
      svc.send(presence);
    }
    svc.removeSession(room, o, realJid);
    svc.discardIfEmpty(room);
  }

  /** Available presence to the bare room JID: the nick is missing (§7.2.1). */
  bare = (ev: StanzaEvent): boolean => {
    const type = ev.stanza.attrs.type;
    if (type === undefined && ev.stanza.getChild("x", NS_MUC_USER) === undefined) {
      throw new StanzaError("modify", "jid-malformed", "Join with room@service/nick");
    }
    return true;
  };
}
