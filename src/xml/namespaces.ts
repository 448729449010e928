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
} as const;
