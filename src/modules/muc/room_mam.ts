/**
 * The room archive over MAM (XEP-0313 §6, XEP-0045 MAM use): `query`
 * set and get on the room JID. Reuses the MAM module's pure parts (form,
 * RSM, paging, result stanzas: src/modules/mam/{query_form,rsm,page,
 * results}.ts). In a room `with` names an occupant JID, so it is kept
 * whole, not reduced to a bare JID as in a user's archive.
 */
import type { Element } from "../../xml/element.ts";
import { parseJid } from "../../jid.ts";
import { StanzaError } from "../../core/errors.ts";
import type { StanzaEvent } from "../../core/router.ts";
import { formValue, NS_DATA, parseForm } from "../../util/dataforms.ts";
import { parseQueryForm, queryFormElement } from "../mam/query_form.ts";
import { parseRsm } from "../mam/rsm.ts";
import { findPage } from "../mam/page.ts";
import { finElement, resultMessage } from "../mam/results.ts";
import type { MucService } from "./service.ts";
import type { Room } from "./room.ts";

/** Longest queryid echoed back (as the user archive). */
const MAX_QUERYID_LENGTH = 256;
/** RSM indexes served by walking the set (as the user archive). */
const MAX_INDEX = 10_000;

export class RoomMam {
  constructor(readonly svc: MucService) {}

  form = (): Element => queryFormElement();

  /**
   * May `from` read this room's archive? Outcasts never; members-only rooms:
   * members or occupants; password-protected rooms: occupants (who gave the
   * password), admins and owners: the archive is what the password guards.
   */
  #check(room: Room, ev: StanzaEvent): string {
    const from = parseJid(ev.stanza.attrs.from ?? "")!;
    const affiliation = this.svc.effectiveAffiliation(room, from.bare);
    if (affiliation === "outcast") throw new StanzaError("auth", "forbidden", "You are banned");
    if (room.config.membersOnly && affiliation === "none" && !room.byRealJid.has(from.full)) {
      throw new StanzaError("auth", "forbidden", "Members only");
    }
    const privileged = affiliation === "owner" || affiliation === "admin";
    if (room.config.password !== "" && !privileged && !room.byRealJid.has(from.full)) {
      throw new StanzaError("auth", "forbidden", "Join the room (with its password) first");
    }
    return from.full;
  }

  query = async (room: Room, ev: StanzaEvent): Promise<Element> => {
    const to = this.#check(room, ev);
    const query = ev.stanza.firstElement()!;
    const queryid = query.attrs.queryid;
    if (queryid !== undefined && queryid.length > MAX_QUERYID_LENGTH) {
      throw new StanzaError("modify", "bad-request", "queryid too long");
    }
    const { defaultPageSize, maxPageSize } = this.svc.api.config.mam;
    const filter = parseQueryForm(query, maxPageSize);
    const x = query.getChild("x", NS_DATA);
    const withRaw = x ? formValue(parseForm(x)!, "with") : undefined;
    if (withRaw) filter.with = parseJid(withRaw.trim())?.full ?? filter.with;
    const page = await findPage(this.svc.archive, room.name, filter, parseRsm(query), {
      defaultMax: Math.min(defaultPageSize, maxPageSize),
      maxMax: maxPageSize,
      maxIndex: MAX_INDEX,
    });
    const flip = query.getChild("flip-page") !== undefined;
    const items = flip ? [...page.items].reverse() : page.items;
    for (const item of items) {
      const message = resultMessage(item, to, room.jid, queryid);
      if (message) this.svc.send(message);
    }
    return finElement(page);
  };
}
