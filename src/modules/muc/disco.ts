/**
 * Service discovery (XEP-0030, XEP-0045 §6): the service's identity and
 * features, its public rooms as items (hidden and locked rooms left
 * out, bounded), each room's identity, features and `muc#roominfo`
 * form, and a user's reserved nick (`x-roomuser-item`, §7.9).
 */
import { el, type Element } from "../../xml/element.ts";
import { NS } from "../../xml/namespaces.ts";
import { parseJid } from "../../jid.ts";
import { StanzaError } from "../../core/errors.ts";
import type { StanzaEvent } from "../../core/router.ts";
import type { MucService } from "./service.ts";
import type { Room } from "./room.ts";
import { roomFeatures, roomInfoForm } from "./room_config_form.ts";
import {
  NS_CONFERENCE,
  NS_MODERATE_0,
  NS_MODERATE_1,
  NS_MUC,
  NS_MUC_REGISTER,
  NS_MUC_STABLE_ID,
  NS_OCCUPANT_ID,
  NS_REGISTER,
  NS_SELF_PING,
} from "./ns.ts";
import { NS_MAM, NS_SID } from "../mam/ns.ts";

/** Most rooms listed in the service's disco#items. */
const MAX_LISTED = 1000;

export function serviceInfo(svc: MucService, ev: StanzaEvent): Element {
  const query = ev.stanza.firstElement()!;
  if (query.attrs.node !== undefined) {
    throw new StanzaError("cancel", "item-not-found", "No such node");
  }
  const out = el("query", { xmlns: NS.discoInfo });
  for (const i of svc.api.host.discoIdentities) {
    out.append(el("identity", { category: i.category, type: i.type, name: i.name }));
  }
  for (
    const f of [...new Set([NS.discoInfo, NS.discoItems, ...svc.api.host.discoFeatures])].sort()
  ) {
    out.append(el("feature", { var: f }));
  }
  return out;
}

export function serviceItems(svc: MucService, ev: StanzaEvent): Element {
  const query = ev.stanza.firstElement()!;
  if (query.attrs.node !== undefined) {
    throw new StanzaError("cancel", "item-not-found", "No such node");
  }
  const out = el("query", { xmlns: NS.discoItems });
  let n = 0;
  for (const room of svc.rooms.values()) {
    if (!room.config.public || room.locked) continue;
    if (++n > MAX_LISTED) break;
    out.append(el("item", { jid: room.jid, name: room.config.name || room.name }));
  }
  return out;
}

export function roomInfo(room: Room, ev: StanzaEvent): Element {
  const query = ev.stanza.firstElement()!;
  const node = query.attrs.node;
  const out = el("query", { xmlns: NS.discoInfo, node });
  if (node === "x-roomuser-item") {
    const from = parseJid(ev.stanza.attrs.from ?? "");
    const nick = from ? room.reservedNick(from.bare) : undefined;
    if (nick !== undefined) {
      out.append(el("identity", { category: "conference", type: "text", name: nick }));
    }
    return out;
  }
  if (node !== undefined) throw new StanzaError("cancel", "item-not-found", "No such node");
  out.append(
    el("identity", { category: "conference", type: "text", name: room.config.name || room.name }),
  );
  const features = [
    NS.discoInfo,
    NS_MUC,
    NS_MUC_STABLE_ID,
    NS_CONFERENCE,
    NS_OCCUPANT_ID,
    NS_SELF_PING,
    NS_REGISTER,
    NS_MODERATE_0,
    NS_MODERATE_1,
    ...roomFeatures(room.config),
  ];
  if (room.config.archiving) features.push(NS_MAM, NS_SID);
  for (const f of features) out.append(el("feature", { var: f }));
  out.append(roomInfoForm(room.config, room.occupants.size, room.subject.text));
  return out;
}

/** Occupants as items, only for those in the room (§6.5: may be withheld from others). */
export function roomItems(room: Room, ev: StanzaEvent): Element {
  const out = el("query", { xmlns: NS.discoItems });
  if (room.byRealJid.has(ev.stanza.attrs.from ?? "")) {
    for (const o of room.occupants.values()) {
      out.append(el("item", { jid: room.occupantJid(o.nick) }));
    }
  }
  return out;
}

export const SERVICE_FEATURES = [NS_MUC, NS_MUC_REGISTER, NS_OCCUPANT_ID, NS_SELF_PING, NS.ping];
