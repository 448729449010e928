/** Pieces shared by the incoming and outgoing server-to-server streams. */
import { openTag } from "../xml/element.ts";
import { NS } from "../xml/namespaces.ts";

export const NS_DIALBACK = "jabber:server:dialback";
/** XEP-0220 §2.1: the stream feature that says dialback (with errors) is offered. */
export const NS_DIALBACK_FEATURE = "urn:xmpp:features:dialback";
/** XEP-0288: the feature a receiving server offers, and the element that takes it up. */
export const NS_BIDI_FEATURE = "urn:xmpp:features:bidi";
export const NS_BIDI = "urn:xmpp:bidi";

export function streamHeader(attrs: { from?: string; to?: string; id?: string }): string {
  return "<?xml version='1.0'?>" +
    openTag("stream:stream", {
      xmlns: NS.server,
      "xmlns:stream": NS.stream,
      "xmlns:db": NS_DIALBACK,
      id: attrs.id,
      from: attrs.from,
      to: attrs.to,
      version: "1.0",
    });
}
