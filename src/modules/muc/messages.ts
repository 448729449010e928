/**
 * Messages to a room and to occupants (XEP-0045 §7.4, §7.5, §7.8, §8.1):
 * groupchat messages stamped with the room's `<stanza-id/>` and the
 * sender's occupant id, archived and fanned out; subject changes;
 * private messages; mediated invitations and declines. An error bounced
 * by an occupant's client that says it cannot receive (KICKING_CONDITIONS)
 * takes that session out of the room (333).
 */
import { el, Element, serialize } from "../../xml/element.ts";
import { type Jid, parseJid } from "../../jid.ts";
import { StanzaError } from "../../core/errors.ts";
import type { StanzaEvent } from "../../core/router.ts";
import type { MucService } from "./service.ts";
import type { Occupant, Room } from "./room.ts";
import type { PresenceHandler } from "./presence.ts";
import { NS_MUC_USER, NS_OCCUPANT_ID } from "./ns.ts";
import { NS_SID } from "../mam/ns.ts";
import { newArchiveId } from "../../storage/schema.ts";
import { NS_DATA } from "../../util/dataforms.ts";
import { voiceRequest } from "./voice_request.ts";
import { roomArchivable } from "./archivable.ts";
import { roomOnly } from "./room_only.ts";
import { NS } from "../../xml/namespaces.ts";

/**
 * Error conditions in a bounced message that mean the session cannot
 * receive the room's traffic any more, so it is taken out (333), as
 * Prosody does. Others (a client refusing one message: `not-acceptable`,
 * `feature-not-implemented`, `policy-violation`…) leave it in the room:
 * one odd message must not kick everyone whose client dislikes it.
 */
const KICKING_CONDITIONS = new Set([
  "gone",
  "internal-server-error",
  "item-not-found",
  "jid-malformed",
  "recipient-unavailable",
  "redirect",
  "remote-server-not-found",
  "remote-server-timeout",
  "service-unavailable",
]);

/** Does this bounced message take its sender's session out of the room? */
export function kicksOnError(stanza: Element): boolean {
  const error = stanza.getChild("error");
  const condition = error?.children.find((c): c is Element =>
    typeof c !== "string" && c.attrs.xmlns === NS.stanzas && c.name !== "text"
  );
  // No condition at all: a broken client, out as well.
  return condition === undefined || KICKING_CONDITIONS.has(condition.name);
}

/** Most invitations one message may carry. */
const MAX_INVITES = 10;
const MAX_REASON = 1024;
/** Invitations a room remembers for matching declines (oldest forgotten first). */
const MAX_PENDING_INVITATIONS = 1000;

export class MessageHandler {
  constructor(readonly svc: MucService, readonly presence: PresenceHandler) {}

  /** message/bare: to the room. */
  toRoom = async (ev: StanzaEvent): Promise<boolean> => {
    const svc = this.svc;
    const stanza = ev.stanza;
    const from = parseJid(stanza.attrs.from ?? "");
    if (!from) return true;
    const room = svc.rooms.get(ev.to!.local!);
    const type = stanza.attrs.type;
    if (type === "error") {
      if (room?.byRealJid.has(from.full) && kicksOnError(stanza)) {
        this.presence.leave(room, from.full, true, stanza);
      }
      return true;
    }
    if (!room || room.locked) throw new StanzaError("cancel", "item-not-found", "No such room");
    const x = stanza.getChild("x", NS_MUC_USER);
    if (x && type !== "groupchat") {
      this.mediated(room, from, x);
      return true;
    }
    const data = type !== "groupchat" ? stanza.getChild("x", NS_DATA) : undefined;
    if (data) {
      const sender = room.byRealJid.get(from.full);
      if (sender) this.rateLimit(sender);
      if (voiceRequest(svc, room, from, data)) return true;
    }
    const sender = room.byRealJid.get(from.full);
    if (!sender) throw new StanzaError("modify", "not-acceptable", "You are not in the room");
    if (type !== "groupchat") {
      throw new StanzaError("modify", "bad-request", "Send groupchat messages to the room");
    }
    if (sender.role === "visitor" || sender.role === "none") {
      throw new StanzaError("auth", "forbidden", "You have no voice here");
    }
    this.rateLimit(sender);
    const subject = stanza.getChild("subject");
    if (subject && stanza.getChild("body") === undefined) {
      if (!room.config.changeSubject && sender.role !== "moderator") {
        throw new StanzaError("auth", "forbidden", "You may not change the subject");
      }
      room.subject = {
        text: subject.text().slice(0, 4096),
        by: sender.nick,
        occupantId: svc.idOf(room, sender),
      };
      await svc.store.save(room);
    }
    await this.broadcast(room, sender, stanza);
    return true;
  };

  rateLimit(o: Occupant): void {
    if (!this.svc.admit(o)) {
      throw new StanzaError("wait", "resource-constraint", "Too many messages");
    }
  }

  /** Archive (with a stanza-id by the room) and send to every occupant session. */
  async broadcast(room: Room, sender: Occupant, stanza: Element): Promise<void> {
    const svc = this.svc;
    const message = el("message", {
      from: room.occupantJid(sender.nick),
      type: "groupchat",
      id: stanza.attrs.id,
      "xml:lang": stanza.attrs["xml:lang"],
    });
    for (const c of stanza.children) {
      // The room's ids, muc#user and moderation are the room's to give (room_only.ts).
      if (typeof c !== "string" && !roomOnly(c)) message.append(c);
    }
    message.append(
      el("occupant-id", { xmlns: NS_OCCUPANT_ID, id: svc.idOf(room, sender) }),
    );
    // Judged on what is relayed: a message of forged moderation alone is not kept.
    if (room.config.archiving && roomArchivable(message)) {
      const when = Date.now();
      const id = newArchiveId(when);
      message.append(el("stanza-id", { xmlns: NS_SID, id, by: room.jid }));
      await svc.archive.append(room.name, {
        id,
        when,
        generated: true,
        with: message.attrs.from,
        value: serialize(message),
      });
      this.#trim(room);
    }
    for (const [jid] of room.recipients()) {
      const copy = new Element(message.name, { ...message.attrs, to: jid }, message.children);
      svc.send(copy);
    }
  }

  /** Every so often, cut the room archive back to `maxArchivedPerRoom`. */
  #trim(room: Room): void {
    // Counted on the room: a count per room name here would outlive the
    // temporary rooms a user can create and drop without end.
    if (++room.appendedSinceTrim < 100) return;
    room.appendedSinceTrim = 0;
    const max = this.svc.limits.maxArchivedPerRoom;
    if (max === 0) return;
    const archive = this.svc.archive;
    (async () => {
      const count = await archive.count(room.name);
      if (count <= max) return;
      const old = await archive.find(room.name, { limit: count - max });
      await archive.delete(room.name, { ids: old.map((i) => i.id) });
    })().catch((err) =>
      this.svc.api.log.warn("trimming the archive of {room} failed: {err}", { room: room.jid, err })
    );
  }

  /** message/full: a private message to an occupant (§7.5), or a bounce from one. */
  toOccupant = (ev: StanzaEvent): boolean => {
    const svc = this.svc;
    const stanza = ev.stanza;
    const from = parseJid(stanza.attrs.from ?? "");
    if (!from) return true;
    const room = svc.rooms.get(ev.to!.local!);
    if (stanza.attrs.type === "error") {
      if (room?.byRealJid.has(from.full) && kicksOnError(stanza)) {
        this.presence.leave(room, from.full, true, stanza);
      }
      return true;
    }
    if (!room) throw new StanzaError("cancel", "item-not-found", "No such room");
    const sender = room.byRealJid.get(from.full);
    if (!sender) throw new StanzaError("modify", "not-acceptable", "You are not in the room");
    const target = room.occupantByNick(ev.to!.resource);
    if (!target) throw new StanzaError("cancel", "item-not-found", "No such occupant");
    if (stanza.attrs.type === "groupchat") {
      throw new StanzaError("modify", "bad-request", "Groupchat goes to the room");
    }
    const pm = room.config.allowPm;
    const allowed = pm === "anyone" ||
      (pm === "participants" && sender.role !== "visitor") ||
      (pm === "moderators" && sender.role === "moderator");
    if (!allowed) throw new StanzaError("cancel", "not-allowed", "Private messages are off here");
    this.rateLimit(sender);
    const message = el("message", { ...stanza.attrs, from: room.occupantJid(sender.nick) });
    for (const c of stanza.children) {
      // The sender's own muc#user payload (status codes, items, invitations) is a
      // forgery, and so is a stanza-id: one by the room would pass the PM off as (or
      // deduplicate it against) a message of the room's archive (room_only.ts).
      if (typeof c === "string" || !roomOnly(c)) message.append(c);
    }
    // §7.5: marks it as from the room, so clients do not take it as a contact's.
    message.append(el("x", { xmlns: NS_MUC_USER }));
    message.append(
      el("occupant-id", { xmlns: NS_OCCUPANT_ID, id: svc.idOf(room, sender) }),
    );
    for (const jid of target.sessions.keys()) {
      svc.send(new Element("message", { ...message.attrs, to: jid }, message.children));
    }
    return true;
  };

  /**
   * Mediated invitations and declines (§7.8.2). Each invitation costs the
   * inviter one message of its rate; a decline goes only to a user who
   * invited its sender (else it is dropped: no relaying through the room).
   */
  mediated(room: Room, from: Jid, x: Element): void {
    const svc = this.svc;
    const sender = room.byRealJid.get(from.full);
    const invites = x.getChildren("invite");
    const declines = x.getChildren("decline");
    if (invites.length + declines.length > MAX_INVITES) {
      throw new StanzaError("modify", "policy-violation", "Too many invitations");
    }
    for (const decline of declines) {
      const to = parseJid(decline.attrs.to ?? "");
      if (!to) throw new StanzaError("modify", "jid-malformed", "Invalid decline to");
      const key = from.bare + "\0" + to.bare;
      if (!room.invitations.delete(key)) {
        svc.api.log.debug("{jid}: decline to {to} without an invitation, dropped", {
          jid: from.full,
          to: to.full,
        });
        continue;
      }
      const reason = decline.getChildText("reason")?.slice(0, MAX_REASON);
      svc.send(el(
        "message",
        { from: room.jid, to: to.full, id: crypto.randomUUID() },
        el(
          "x",
          { xmlns: NS_MUC_USER },
          el("decline", { from: from.bare }, reason !== undefined && el("reason", {}, reason)),
        ),
      ));
    }
    if (invites.length === 0) return;
    if (!sender) throw new StanzaError("modify", "not-acceptable", "You are not in the room");
    const affiliation = svc.effectiveAffiliation(room, from.bare);
    const privileged = affiliation === "owner" || affiliation === "admin";
    // §7.8.2: in a members-only room, only admins invite unless occupants are allowed to.
    if (!privileged && room.config.membersOnly && !room.config.allowInvites) {
      throw new StanzaError("auth", "forbidden", "Only admins may invite to this room");
    }
    const targets = invites.map((invite) => {
      const to = parseJid(invite.attrs.to ?? "");
      if (!to) throw new StanzaError("modify", "jid-malformed", "Invalid invite to");
      return { to, reason: invite.getChildText("reason")?.slice(0, MAX_REASON) };
    });
    // Every invitation is a message the room sends for the inviter.
    if (!svc.admit(sender, targets.length)) {
      throw new StanzaError("wait", "resource-constraint", "Too many invitations");
    }
    for (const { to, reason } of targets) {
      if (room.config.membersOnly && room.affiliation(to.bare) === "none") {
        if (room.affiliations.size >= svc.limits.maxAffiliations) {
          throw new StanzaError("wait", "resource-constraint", "Too many affiliations");
        }
        room.setAffiliation(to.bare, "member");
        void svc.store.save(room).catch(() => {});
        // Not in the room (members only): those who see JIDs learn of the new member.
        svc.announceAffiliation(room, to.bare, "member");
      }
      const key = to.bare + "\0" + from.bare;
      room.invitations.delete(key);
      room.invitations.add(key);
      if (room.invitations.size > MAX_PENDING_INVITATIONS) {
        room.invitations.delete(room.invitations.values().next().value!);
      }
      const body = `${from.bare} invites you to the room ${room.jid}` +
        (reason ? `: ${reason}` : "");
      svc.send(el(
        "message",
        { from: room.jid, to: to.full, id: crypto.randomUUID() },
        el("body", {}, body),
        el(
          "x",
          { xmlns: NS_MUC_USER },
          el("invite", { from: from.full }, reason !== undefined && el("reason", {}, reason)),
          room.config.password !== "" && el("password", {}, room.config.password),
        ),
        el("x", {
          xmlns: "jabber:x:conference",
          jid: room.jid,
          reason,
          password: room.config.password || undefined,
        }),
      ));
    }
  }
}
