/**
 * Registering with a room (XEP-0045 §7.10): `jabber:iq:register` on the
 * room JID. Registration reserves a nick and makes the user a member;
 * `<remove/>` gives both up. A nick reserved by someone else is
 * `conflict`, an invalid one `not-acceptable`; outcasts are `forbidden`.
 * In a members-only or moderated room, membership is what keeps strangers
 * out or silent: there only users with an affiliation register (others
 * `registration-required`, as Prosody), else anyone could make themselves
 * a member.
 */
import { el, type Element } from "../../xml/element.ts";
import { parseJid } from "../../jid.ts";
import { prepNick } from "./nick.ts";
import { StanzaError } from "../../core/errors.ts";
import type { StanzaEvent } from "../../core/router.ts";
import { form, formType, formValue, NS_DATA, parseForm } from "../../util/dataforms.ts";
import type { MucService } from "./service.ts";
import type { Room } from "./room.ts";
import { NS_MUC_REGISTER, NS_REGISTER } from "./ns.ts";

export class RegisterHandler {
  constructor(readonly svc: MucService) {}

  /** Outcasts never register; strangers not where membership is the gate. */
  #mayRegister(room: Room, affiliation: string): void {
    if (affiliation === "outcast") throw new StanzaError("auth", "forbidden", "You are banned");
    if (affiliation === "none" && (room.config.membersOnly || room.config.moderated)) {
      throw new StanzaError("auth", "registration-required", "Ask an admin for membership");
    }
  }

  get = (room: Room, ev: StanzaEvent): Element => {
    const from = parseJid(ev.stanza.attrs.from ?? "")!;
    const nick = room.reservedNick(from.bare);
    if (nick !== undefined) {
      return el("query", { xmlns: NS_REGISTER }, el("registered"), el("username", {}, nick));
    }
    this.#mayRegister(room, this.svc.effectiveAffiliation(room, from.bare));
    return el(
      "query",
      { xmlns: NS_REGISTER },
      el("instructions", {}, "Reserve a nick in this room"),
      form("form", [
        { var: "muc#register_roomnick", type: "text-single", label: "Nick", required: true },
      ], { formType: NS_MUC_REGISTER, title: `Registration with ${room.jid}` }),
    );
  };

  set = async (room: Room, ev: StanzaEvent): Promise<Element | undefined> => {
    const svc = this.svc;
    const from = parseJid(ev.stanza.attrs.from ?? "")!;
    const query = ev.stanza.firstElement()!;
    const affiliation = room.affiliation(from.bare);
    if (affiliation === "outcast") throw new StanzaError("auth", "forbidden", "You are banned");
    if (query.getChild("remove")) {
      const entry = room.affiliations.get(from.bare);
      if (!entry) throw new StanzaError("cancel", "item-not-found", "Not registered");
      if (entry.affiliation === "member") room.affiliations.delete(from.bare);
      else entry.nick = undefined;
      await svc.store.save(room);
      if (entry.affiliation === "member") this.#announce(room, from.bare);
      return undefined;
    }
    this.#mayRegister(room, svc.effectiveAffiliation(room, from.bare));
    const x = query.getChild("x", NS_DATA);
    if (x && formType(x) === "cancel") return undefined;
    const values = x ? parseForm(x)! : undefined;
    const raw = values
      ? formValue(values, "muc#register_roomnick")
      : query.getChildText("username");
    const nick = raw === undefined ? undefined : prepNick(raw.trim());
    if (nick === undefined || [...nick].length > svc.limits.maxNickLength) {
      throw new StanzaError("modify", "not-acceptable", "A valid nick is required");
    }
    const owner = room.nickOwner(nick);
    const inUse = room.occupants.get(nick);
    if ((owner !== undefined && owner !== from.bare) || (inUse && inUse.bareJid !== from.bare)) {
      throw new StanzaError("cancel", "conflict", "That nick is taken");
    }
    if (affiliation === "none") {
      if (room.affiliations.size >= svc.limits.maxAffiliations) {
        throw new StanzaError("wait", "resource-constraint", "Too many registrations");
      }
      room.setAffiliation(from.bare, "member");
    }
    room.affiliations.get(from.bare)!.nick = nick;
    await svc.store.save(room);
    if (affiliation === "none") this.#announce(room, from.bare);
    return undefined;
  };

  /**
   * Membership gained or given up by registration, told as an admin's change
   * is (§9.3, §9.4): the user's occupants show the new affiliation and role,
   * or leave with 321 when a members-only room no longer lets them in.
   */
  #announce(room: Room, bareJid: string): void {
    const svc = this.svc;
    const present = [...room.occupants.values()].filter((o) => o.bareJid === bareJid);
    for (const o of present) {
      const role = room.roleFor(svc.effectiveAffiliation(room, bareJid));
      if (role === "none") svc.expel(room, o, { codes: ["321"] });
      else svc.setRole(room, o, o.role === "moderator" ? o.role : role);
    }
    svc.discardIfEmpty(room);
  }
}
