/**
 * `muc#owner` (XEP-0045 §10): the configuration form (get), its
 * submission or cancellation (set; an empty submission makes an instant
 * room), and destroying the room with an optional alternate venue.
 * Changes are announced with 104 (configuration), 170/171 (archiving)
 * and 172/173 (anonymity); occupants who lose their place when a room
 * becomes members-only leave with 322.
 */
import { el, type Element } from "../../xml/element.ts";
import { parseJid } from "../../jid.ts";
import { StanzaError } from "../../core/errors.ts";
import type { StanzaEvent } from "../../core/router.ts";
import { NS_DATA, parseForm } from "../../util/dataforms.ts";
import type { MucService } from "./service.ts";
import type { Room } from "./room.ts";
import { applyConfigForm, configForm } from "./room_config_form.ts";
import { NS_MUC_OWNER } from "./ns.ts";

export class OwnerHandler {
  constructor(readonly svc: MucService) {}

  #requireOwner(room: Room, ev: StanzaEvent): void {
    const from = parseJid(ev.stanza.attrs.from ?? "");
    if (!from || this.svc.effectiveAffiliation(room, from.bare) !== "owner") {
      throw new StanzaError("auth", "forbidden", "Only owners may do that");
    }
  }

  get = (room: Room, ev: StanzaEvent): Element => {
    this.#requireOwner(room, ev);
    const { maxOccupants, maxHistoryMessages } = this.svc.limits;
    return el(
      "query",
      { xmlns: NS_MUC_OWNER },
      configForm(room.config, maxOccupants, maxHistoryMessages),
    );
  };

  set = async (room: Room, ev: StanzaEvent): Promise<Element | undefined> => {
    this.#requireOwner(room, ev);
    const query = ev.stanza.firstElement()!;
    const destroy = query.getChild("destroy");
    if (destroy) {
      await this.destroy(room, destroy);
      return undefined;
    }
    const x = query.getChild("x", NS_DATA);
    if (!x) throw new StanzaError("modify", "bad-request", "Submit a form or destroy");
    if (x.attrs.type === "cancel") {
      // §10.1.3: cancelling the first configuration destroys the new room.
      if (room.locked) await this.destroy(room, undefined);
      return undefined;
    }
    if (x.attrs.type !== "submit") {
      throw new StanzaError("modify", "bad-request", "Form type submit");
    }
    const values = parseForm(x)!;
    const { maxOccupants, maxHistoryMessages } = this.svc.limits;
    const before = room.config;
    const after = applyConfigForm(before, values, maxOccupants, maxHistoryMessages);
    room.config = after;
    const wasLocked = room.locked;
    room.locked = false;
    await this.svc.store.save(room);
    if (wasLocked) return undefined;
    const codes = ["104"];
    if (before.archiving !== after.archiving) codes.push(after.archiving ? "170" : "171");
    if (before.whois !== after.whois) {
      codes.push(after.whois === "anyone" ? "172" : after.whois === "none" ? "174" : "173");
    }
    this.svc.statusMessage(room, codes);
    if (!before.membersOnly && after.membersOnly) this.#expelNonMembers(room);
    if (before.moderated !== after.moderated) this.#reassignRoles(room);
    if (before.whois !== after.whois) {
      // Who sees real JIDs changed: everyone's presence again.
      for (const o of room.occupants.values()) this.svc.broadcastPresence(room, o, undefined);
    }
    return undefined;
  };

  #expelNonMembers(room: Room): void {
    for (const o of [...room.occupants.values()]) {
      if (this.svc.effectiveAffiliation(room, o.bareJid) === "none") {
        this.svc.expel(room, o, { codes: ["322"] });
      }
    }
    this.svc.discardIfEmpty(room);
  }

  /** Moderation switched: visitors get voice, or participants without affiliation lose it. */
  #reassignRoles(room: Room): void {
    for (const o of room.occupants.values()) {
      if (o.role === "moderator") continue;
      const role = room.roleFor(this.svc.effectiveAffiliation(room, o.bareJid));
      if (role !== o.role && role !== "none") this.svc.setRole(room, o, role);
    }
  }

  /** §10.9: every occupant leaves with the `<destroy/>` (alternate venue, reason), the room is gone. */
  async destroy(room: Room, destroy: Element | undefined): Promise<void> {
    const svc = this.svc;
    let venue: string | undefined;
    if (destroy?.attrs.jid !== undefined) {
      venue = parseJid(destroy.attrs.jid)?.bare;
      if (venue === undefined) {
        throw new StanzaError("modify", "jid-malformed", "Invalid alternate venue");
      }
    }
    const reason = destroy?.getChildText("reason");
    const password = destroy?.getChildText("password");
    const child = el(
      "destroy",
      { jid: venue },
      reason !== undefined && el("reason", {}, reason.slice(0, 1024)),
      password !== undefined && el("password", {}, password.slice(0, 1024)),
    );
    // §10.9 example: affiliation and role none, the <destroy/> beside them.
    svc.expelAll(room, { destroy: child, affiliation: "none" });
    room.destroyed = true;
    svc.rooms.delete(room.name);
    await svc.store.remove(room.name);
    await svc.archive.delete(room.name);
  }
}
