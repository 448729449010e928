/**
 * Payloads only the room may put in what it relays: from an occupant they
 * are forgeries clients would believe. The room's `<stanza-id/>`, occupant
 * ids, `muc#user` (status codes, items with real JIDs, invitations) and
 * moderation (XEP-0425: a retraction "by a moderator", in either version,
 * and the tombstone the archive shows for one). A plain XEP-0424
 * retraction of one's own message passes: clients check it against its
 * sender's occupant id.
 */
import type { Element } from "../../xml/element.ts";
import { NS_SID } from "../mam/ns.ts";
import {
  NS_FASTEN,
  NS_MODERATE_0,
  NS_MODERATE_1,
  NS_MUC_USER,
  NS_OCCUPANT_ID,
  NS_RETRACT_0,
  NS_RETRACT_1,
} from "./ns.ts";

const hasModerated = (e: Element) =>
  e.getChild("moderated", NS_MODERATE_1) !== undefined ||
  e.getChild("moderated", NS_MODERATE_0) !== undefined;

/** Is this top-level child of an occupant's message the room's to give? */
export function roomOnly(c: Element): boolean {
  const ns = c.attrs.xmlns;
  if (ns === NS_OCCUPANT_ID || ns === NS_MUC_USER) return true;
  if (ns === NS_SID && c.name === "stanza-id") return true;
  if (ns === NS_MODERATE_1 || ns === NS_MODERATE_0) return true;
  const retraction = ns === NS_RETRACT_1 || ns === NS_RETRACT_0;
  if (retraction && c.name === "retracted") return true;
  if (retraction && c.name === "retract") return hasModerated(c);
  if (ns === NS_FASTEN && c.name === "apply-to") return hasModerated(c);
  return false;
}
