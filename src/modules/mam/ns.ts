/** Namespaces of the message archive (XEP-0313) and what it builds on. */
import { NS_CARBONS, NS_CHATSTATES, NS_FORWARD, NS_HINTS, NS_MAM } from "../../xml/namespaces.ts";
export { NS_CARBONS, NS_CHATSTATES, NS_FORWARD, NS_HINTS, NS_MAM };
/** XEP-0313 §4.1: before-id, after-id, ids, flip-page and the metadata query. */
export const NS_MAM_EXTENDED = "urn:xmpp:mam:2#extended";
/** XEP-0359 unique and stable stanza ids. */
export const NS_SID = "urn:xmpp:sid:0";
/** XEP-0059 result set management. */
export const NS_RSM = "http://jabber.org/protocol/rsm";
