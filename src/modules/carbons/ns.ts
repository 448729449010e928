/** Namespaces the carbons module reads and writes, named once. */
export const NS_CARBONS = "urn:xmpp:carbons:2";
/** Advertised because eligibility.ts follows the copying rules of XEP-0280 §6. */
export const NS_CARBONS_RULES = "urn:xmpp:carbons:rules:0";
export const NS_FORWARD = "urn:xmpp:forward:0";
/** XEP-0334 message processing hints (`<no-copy/>`). */
export const NS_HINTS = "urn:xmpp:hints";
/** Payloads XEP-0280 §6 counts as instant messaging whatever the message type. */
export const NS_CHATSTATES = "http://jabber.org/protocol/chatstates";
export const NS_RECEIPTS = "urn:xmpp:receipts";
export const NS_MARKERS = "urn:xmpp:chat-markers:0";
/** MUC invitations (XEP-0045 mediated, XEP-0249 direct) and MUC private messages. */
export const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
export const NS_CONFERENCE = "jabber:x:conference";
