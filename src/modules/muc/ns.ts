/** Namespaces of multi-user chat (XEP-0045) and the XEPs it carries. */
import {
  NS_CONFERENCE,
  NS_MUC,
  NS_MUC_OWNER,
  NS_MUC_USER,
  NS_REGISTER,
  NS_VCARD,
} from "../../xml/namespaces.ts";
export { NS_CONFERENCE, NS_MUC, NS_MUC_OWNER, NS_MUC_USER, NS_REGISTER, NS_VCARD };
export const NS_MUC_ADMIN = "http://jabber.org/protocol/muc#admin";
export const NS_MUC_ROOMCONFIG = "http://jabber.org/protocol/muc#roomconfig";
export const NS_MUC_ROOMINFO = "http://jabber.org/protocol/muc#roominfo";
export const NS_MUC_REGISTER = "http://jabber.org/protocol/muc#register";
/** The room keeps the sender's message id in what it sends (rooms advertise it). */
export const NS_MUC_STABLE_ID = "http://jabber.org/protocol/muc#stable_id";
export const NS_MUC_REQUEST = "http://jabber.org/protocol/muc#request";
/** XEP-0421 anonymous unique occupant identifiers. */
export const NS_OCCUPANT_ID = "urn:xmpp:occupant-id:0";
/** XEP-0410 MUC self-ping. */
export const NS_SELF_PING = "http://jabber.org/protocol/muc#self-ping-optimization";
/** XEP-0425 message moderation, current and previous. */
export const NS_MODERATE_1 = "urn:xmpp:message-moderate:1";
export const NS_MODERATE_0 = "urn:xmpp:message-moderate:0";
export const NS_RETRACT_1 = "urn:xmpp:message-retract:1";
export const NS_RETRACT_0 = "urn:xmpp:message-retract:0";
export const NS_FASTEN = "urn:xmpp:fasten:0";
export const NS_PING = "urn:xmpp:ping";
export const NS_DELAY = "urn:xmpp:delay";
