/**
 * iq dispatch on the service: to the service itself (disco, ping), to a
 * room (disco, admin, owner, register, MAM, moderation, ping) and to an
 * occupant (self-ping, XEP-0410, answered by the service; other requests
 * go through the proxy). Handlers return the result payload or throw a
 * StanzaError; a request nobody handles is `service-unavailable`.
 */
import type { Element } from "../../xml/element.ts";
import { NS } from "../../xml/namespaces.ts";
import { parseJid } from "../../jid.ts";
import { StanzaError } from "../../core/errors.ts";
import type { StanzaEvent } from "../../core/router.ts";
import type { MucService } from "./service.ts";
import type { Room } from "./room.ts";
import type { AdminHandler } from "./admin.ts";
import type { OwnerHandler } from "./owner.ts";
import type { RegisterHandler } from "./register.ts";
import type { RoomMam } from "./room_mam.ts";
import type { Moderation } from "./moderation.ts";
import type { IqProxy } from "./iq_proxy.ts";
import { roomInfo, roomItems, serviceInfo, serviceItems } from "./disco.ts";
import {
  NS_FASTEN,
  NS_MODERATE_1,
  NS_MUC_ADMIN,
  NS_MUC_OWNER,
  NS_PING,
  NS_REGISTER,
} from "./ns.ts";
import { NS_MAM } from "../mam/ns.ts";

type RoomIq = (room: Room, ev: StanzaEvent) => Element | undefined | Promise<Element | undefined>;

export interface IqParts {
  admin: AdminHandler;
  owner: OwnerHandler;
  register: RegisterHandler;
  mam: RoomMam;
  moderation: Moderation;
  proxy: IqProxy;
}

export class IqHandler {
  readonly #room = new Map<string, RoomIq>();

  constructor(readonly svc: MucService, parts: IqParts) {
    const on = (type: string, ns: string, name: string, fn: RoomIq) =>
      this.#room.set(`${type} ${ns}:${name}`, fn);
    on("get", NS.discoInfo, "query", (room, ev) => roomInfo(room, ev));
    on("get", NS.discoItems, "query", (room, ev) => roomItems(room, ev));
    on("get", NS_MUC_ADMIN, "query", parts.admin.get);
    on("set", NS_MUC_ADMIN, "query", parts.admin.set);
    on("get", NS_MUC_OWNER, "query", parts.owner.get);
    on("set", NS_MUC_OWNER, "query", parts.owner.set);
    on("get", NS_REGISTER, "query", parts.register.get);
    on("set", NS_REGISTER, "query", parts.register.set);
    on("get", NS_MAM, "query", () => parts.mam.form());
    on("set", NS_MAM, "query", parts.mam.query);
    on("set", NS_MODERATE_1, "moderate", parts.moderation.handle);
    on("set", NS_FASTEN, "apply-to", parts.moderation.handle);
    on("get", NS_PING, "ping", () => undefined);
  }

  #reply(
    ev: StanzaEvent,
    r: Element | undefined | Promise<Element | undefined>,
  ): true | Promise<true> {
    if (r instanceof Promise) return r.then((payload) => this.#reply(ev, payload));
    this.svc.api.replyResult(ev, r);
    return true;
  }

  /** iq/host: the service's own. Unknown requests fall through to the host's other handlers. */
  host = (ev: StanzaEvent): boolean | Promise<boolean> => {
    const type = ev.stanza.attrs.type;
    if (type !== "get") return false;
    const payload = ev.stanza.firstElement()!;
    const key = `${payload.attrs.xmlns}:${payload.name}`;
    if (key === `${NS.discoInfo}:query`) return this.#reply(ev, serviceInfo(this.svc, ev));
    if (key === `${NS.discoItems}:query`) return this.#reply(ev, serviceItems(this.svc, ev));
    if (key === `${NS_PING}:ping`) return this.#reply(ev, undefined);
    return false;
  };

  /** iq/bare: to a room. */
  room = (ev: StanzaEvent): true | Promise<true> => {
    const type = ev.stanza.attrs.type;
    if (type !== "get" && type !== "set") return true;
    const payload = ev.stanza.firstElement()!;
    const fn = this.#room.get(`${type} ${payload.attrs.xmlns ?? ""}:${payload.name}`);
    const room = this.svc.rooms.get(ev.to!.local!);
    if (!room) throw new StanzaError("cancel", "item-not-found", "No such room");
    if (!fn) throw new StanzaError("cancel", "service-unavailable");
    // A room being set up answers only its owner (§10.1.2), sets too: a stranger
    // registering in that window would be a member before the owner makes it members-only.
    if (room.locked) {
      const from = parseJid(ev.stanza.attrs.from ?? "");
      if (!from || this.svc.effectiveAffiliation(room, from.bare) !== "owner") {
        throw new StanzaError("cancel", "item-not-found", "No such room");
      }
    }
    return this.#reply(ev, fn(room, ev));
  };

  /** iq/full: to an occupant. */
  occupant = (ev: StanzaEvent, proxy: IqProxy): boolean => {
    const stanza = ev.stanza;
    const type = stanza.attrs.type;
    if (type === "result" || type === "error") {
      proxy.answer(stanza);
      return true;
    }
    const room = this.svc.rooms.get(ev.to!.local!);
    const from = parseJid(stanza.attrs.from ?? "");
    const sender = from ? room?.byRealJid.get(from.full) : undefined;
    // XEP-0410: not (or no longer) in the room.
    if (!room || !sender) {
      throw new StanzaError("cancel", "not-acceptable", "You are not in the room");
    }
    const target = room.occupantByNick(ev.to!.resource);
    if (!target) throw new StanzaError("cancel", "item-not-found", "No such occupant");
    const payload = stanza.firstElement()!;
    if (target === sender && payload.attrs.xmlns === NS_PING && payload.name === "ping") {
      this.svc.api.replyResult(ev);
      return true;
    }
    return proxy.forward(room, sender, from!.full, target, stanza);
  };
}
