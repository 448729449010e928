/** Namespaces the carbons module reads and writes, named once. */
import {
  NS_CARBONS,
  NS_CHATSTATES,
  NS_CONFERENCE,
  NS_FORWARD,
  NS_HINTS,
  NS_MUC_USER,
} from "../../xml/namespaces.ts";
export { NS_CARBONS, NS_CHATSTATES, NS_CONFERENCE, NS_FORWARD, NS_HINTS, NS_MUC_USER };
/** Advertised because eligibility.ts follows the copying rules of XEP-0280 §6. */
export const NS_CARBONS_RULES = "urn:xmpp:carbons:rules:0";
/** Payloads XEP-0280 §6 counts as instant messaging whatever the message type. */
export const NS_RECEIPTS = "urn:xmpp:receipts";
export const NS_MARKERS = "urn:xmpp:chat-markers:0";
