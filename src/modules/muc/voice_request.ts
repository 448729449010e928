/**
 * Voice requests (XEP-0045 §7.13, §8.6): a visitor submits the
 * `muc#request` form to the room; every moderator gets an approval form;
 * a moderator who submits it with `muc#request_allow` true gives the
 * visitor voice. Requests count against the occupant's message rate.
 */
import { el } from "../../xml/element.ts";
import type { Element } from "../../xml/element.ts";
import type { Jid } from "../../jid.ts";
import { StanzaError } from "../../core/errors.ts";
import { form, formBoolean, type FormField, formValue, parseForm } from "../../util/dataforms.ts";
import type { MucService } from "./service.ts";
import type { Room } from "./room.ts";
import { NS_MUC_REQUEST } from "./ns.ts";

/** True when `x` is a `muc#request` form (and was handled). */
export function voiceRequest(svc: MucService, room: Room, from: Jid, x: Element): boolean {
  const values = parseForm(x);
  if (!values || formValue(values, "FORM_TYPE") !== NS_MUC_REQUEST) return false;
  const sender = room.byRealJid.get(from.full);
  if (!sender) throw new StanzaError("modify", "not-acceptable", "You are not in the room");
  if (
    x.attrs.type === "submit" && sender.role === "moderator" &&
    formValue(values, "muc#request_allow") !== undefined
  ) {
    // An approval (or refusal) from a moderator.
    if (formBoolean(values, "muc#request_allow") !== true) return true;
    const target = room.occupantByNick(formValue(values, "muc#roomnick"));
    if (!target) throw new StanzaError("cancel", "item-not-found", "No such occupant");
    if (target.role === "visitor") svc.setRole(room, target, "participant", { actor: sender.nick });
    return true;
  }
  if (sender.role !== "visitor") return true;
  for (const [jid, o] of room.recipients()) {
    if (o.role !== "moderator") continue;
    const fields: FormField[] = [
      { var: "muc#role", type: "list-single", label: "Requested role", values: ["participant"] },
      { var: "muc#roomnick", type: "text-single", label: "Room nickname", values: [sender.nick] },
      { var: "muc#request_allow", type: "boolean", label: "Grant voice?", values: ["false"] },
    ];
    if (svc.seesJids(room, o)) {
      fields.unshift({ var: "muc#jid", type: "jid-single", label: "User", values: [from.full] });
    }
    svc.send(el(
      "message",
      { from: room.jid, to: jid, id: crypto.randomUUID() },
      form("form", fields, { formType: NS_MUC_REQUEST, title: "Voice request" }),
    ));
  }
  return true;
}
