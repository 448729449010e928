/**
 * Message moderation (XEP-0425, `urn:xmpp:message-moderate:1` and the
 * earlier `:0` over fastening): a moderator retracts a message by its
 * room stanza id. The archived message becomes a tombstone (same id and
 * time, no body, so history skips it and MAM shows the retraction), and
 * every occupant is told.
 */
import { el, Element, serialize } from "../../xml/element.ts";
import { parseJid } from "../../jid.ts";
import { StanzaError } from "../../core/errors.ts";
import type { StanzaEvent } from "../../core/router.ts";
import { parseElement } from "../../util/xml_fragment.ts";
import { NS_SID } from "../mam/ns.ts";
import type { MucService } from "./service.ts";
import type { Room } from "./room.ts";
import {
  NS_FASTEN,
  NS_MODERATE_0,
  NS_MODERATE_1,
  NS_OCCUPANT_ID,
  NS_RETRACT_0,
  NS_RETRACT_1,
} from "./ns.ts";

export class Moderation {
  constructor(readonly svc: MucService) {}

  /** iq-set `<moderate xmlns=…:1 id=…>` or `<apply-to id><moderate xmlns=…:0/></apply-to>`. */
  handle = async (room: Room, ev: StanzaEvent): Promise<undefined> => {
    const svc = this.svc;
    const payload = ev.stanza.firstElement()!;
    const legacy = payload.attrs.xmlns === NS_FASTEN;
    const moderate = legacy ? payload.getChild("moderate", NS_MODERATE_0) : payload;
    if (!moderate) throw new StanzaError("modify", "bad-request", "No moderate element");
    const retractNs = legacy ? NS_RETRACT_0 : NS_RETRACT_1;
    if (!moderate.getChild("retract", retractNs)) {
      throw new StanzaError("cancel", "feature-not-implemented", "Only retraction is supported");
    }
    const id = payload.attrs.id;
    if (!id || id.length > 256) throw new StanzaError("modify", "bad-request", "Which message?");
    const from = parseJid(ev.stanza.attrs.from ?? "")!;
    const moderator = room.byRealJid.get(from.full);
    if (moderator?.role !== "moderator") {
      throw new StanzaError("auth", "forbidden", "Moderators only");
    }
    const [item] = await svc.archive.find(room.name, { ids: [id] });
    if (!item) throw new StanzaError("cancel", "item-not-found", "No such message");
    const reasonText = moderate.getChildText("reason")?.slice(0, 1024);
    const by = room.occupantJid(moderator.nick);
    const occupantId = el("occupant-id", {
      xmlns: NS_OCCUPANT_ID,
      id: svc.idOf(room, moderator),
    });
    const reason = reasonText !== undefined ? el("reason", {}, reasonText) : undefined;

    // The tombstone keeps the original's place, sender and ids.
    const original = typeof item.value === "string" ? parseElement(item.value) : undefined;
    const tombstone = el("message", {
      type: "groupchat",
      from: original?.attrs.from ?? room.jid,
      id: original?.attrs.id,
    });
    tombstone.append(el(
      "retracted",
      { xmlns: NS_RETRACT_1, stamp: new Date().toISOString() },
      el("moderated", { xmlns: NS_MODERATE_1, by }, occupantId),
      reason,
    ));
    for (const c of original?.children ?? []) {
      if (typeof c === "string") continue;
      if (
        c.attrs.xmlns === NS_OCCUPANT_ID || (c.attrs.xmlns === NS_SID && c.name === "stanza-id")
      ) tombstone.append(c);
    }
    // The archive has no update: the items of that millisecond are written
    // again in their order (archive order is time, then insertion).
    const same = await svc.archive.find(room.name, {
      start: item.when,
      end: item.when,
      limit: 1000,
    });
    await svc.archive.delete(room.name, { ids: same.map((i) => i.id) });
    for (const i of same) {
      const value = i.id === id ? serialize(tombstone) : i.value;
      await svc.archive.append(room.name, { id: i.id, when: i.when, with: i.with, value });
    }

    // The announcement is archived under the stanza id it carries: a client
    // catching up over MAM `after` the last id it saw must find that id (and
    // gets the retraction itself, not only the tombstone).
    const announcementId = crypto.randomUUID();
    const announcement = el(
      "message",
      { type: "groupchat", from: room.jid, id: crypto.randomUUID() },
      el(
        "retract",
        { xmlns: NS_RETRACT_1, id },
        el("moderated", { xmlns: NS_MODERATE_1, by }, occupantId),
        reason,
      ),
      // The :0 form beside it, for clients that only know that one.
      el(
        "apply-to",
        { xmlns: NS_FASTEN, id },
        el(
          "moderated",
          { xmlns: NS_MODERATE_0, by },
          el("retract", { xmlns: NS_RETRACT_0 }),
          reason,
        ),
      ),
      el("stanza-id", { xmlns: NS_SID, id: announcementId, by: room.jid }),
    );
    await svc.archive.append(room.name, {
      id: announcementId,
      with: room.jid,
      value: serialize(announcement),
    });
    for (const [jid] of room.recipients()) {
      svc.send(new Element("message", { ...announcement.attrs, to: jid }, announcement.children));
    }
    return undefined;
  };
}
