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

export function encodeBase64(s: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(s)));
}

/** Strict base64 to UTF-8; undefined when malformed. */
export function decodeBase64(text: string): string | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  try {
    const bin = atob(text);
    return new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(bin, (c) => c.charCodeAt(0)),
    );
  } catch {
    return undefined;
  }
}
