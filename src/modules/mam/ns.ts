/** Namespaces of the message archive (XEP-0313) and what it builds on. */
export const NS_MAM = "urn:xmpp:mam:2";
/** XEP-0313 §4.1: before-id, after-id, ids, flip-page and the metadata query. */
export const NS_MAM_EXTENDED = "urn:xmpp:mam:2#extended";
/** XEP-0359 unique and stable stanza ids. */
export const NS_SID = "urn:xmpp:sid:0";
/** XEP-0059 result set management. */
export const NS_RSM = "http://jabber.org/protocol/rsm";
/** XEP-0297 stanza forwarding. */
export const NS_FORWARD = "urn:xmpp:forward:0";
/** XEP-0334 message processing hints. */
export const NS_HINTS = "urn:xmpp:hints";
/** XEP-0085 chat states. */
export const NS_CHATSTATES = "http://jabber.org/protocol/chatstates";
/** XEP-0280 carbons: copies and the `<private/>` hint are not content of their own. */
export const NS_CARBONS = "urn:xmpp:carbons:2";
