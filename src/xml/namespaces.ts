/** Namespace URIs used across the server, named once. */
export const NS = {
  client: "jabber:client",
  server: "jabber:server",
  stream: "http://etherx.jabber.org/streams",
  streams: "urn:ietf:params:xml:ns:xmpp-streams",
  stanzas: "urn:ietf:params:xml:ns:xmpp-stanzas",
  tls: "urn:ietf:params:xml:ns:xmpp-tls",
  sasl: "urn:ietf:params:xml:ns:xmpp-sasl",
  saslChannelBinding: "urn:xmpp:sasl-cb:0",
  bind: "urn:ietf:params:xml:ns:xmpp-bind",
  session: "urn:ietf:params:xml:ns:xmpp-session",
  xml: "http://www.w3.org/XML/1998/namespace",
  discoInfo: "http://jabber.org/protocol/disco#info",
  discoItems: "http://jabber.org/protocol/disco#items",
  ping: "urn:xmpp:ping",
  delay: "urn:xmpp:delay",
  sm: "urn:xmpp:sm:3",
  sasl2: "urn:xmpp:sasl:2",
  bind2: "urn:xmpp:bind:0",
  fast: "urn:xmpp:fast:0",
} as const;

/**
 * XEP namespaces that more than one part of the server names (modules,
 * the CLI's export and deep check): defined once here, re-exported by
 * the modules' own ns files.
 */
export const NS_BLOCKING = "urn:xmpp:blocking";
export const NS_CARBONS = "urn:xmpp:carbons:2";
export const NS_CONFERENCE = "jabber:x:conference";
export const NS_FORWARD = "urn:xmpp:forward:0";
export const NS_MAM = "urn:xmpp:mam:2";
export const NS_META_DATA = "http://jabber.org/protocol/pubsub#meta-data";
export const NS_MUC = "http://jabber.org/protocol/muc";
export const NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner";
export const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
export const NS_PRIVATE = "jabber:iq:private";
export const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
export const NS_PUBSUB_OWNER = "http://jabber.org/protocol/pubsub#owner";
export const NS_REGISTER = "jabber:iq:register";
export const NS_ROSTER = "jabber:iq:roster";
export const NS_UPLOAD = "urn:xmpp:http:upload:0";
export const NS_VCARD = "vcard-temp";
export const NS_CAPS = "http://jabber.org/protocol/caps";
export const NS_CHATSTATES = "http://jabber.org/protocol/chatstates";
export const NS_HINTS = "urn:xmpp:hints";
