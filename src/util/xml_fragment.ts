/**
 * Parse one stored XML element back into an `Element`. Modules that keep
 * client XML as text (vCards, private XML) store the serialized element
 * and read it back through the same parser the streams use, so what
 * comes out is shaped exactly like what a client sent.
 */
import { type Element, serialize } from "../xml/element.ts";
import { MAX_STANZA_DEPTH, RELAY_DEPTH_ALLOWANCE, XmlFrameParser } from "../xml/parser.ts";
import { utf8Length } from "./utf8_length.ts";

// Stored elements always carry their own xmlns, so the wrapper's default
// namespace never leaks into them.
const WRAPPER = "<stream:stream xmlns='jabber:client' " +
  "xmlns:stream='http://etherx.jabber.org/streams'>";

/** The element `xml` holds, or undefined when it is not one well-formed element. */
export function parseElement(xml: string): Element | undefined {
  let out: Element | undefined;
  let bad = false;
  const parser = new XmlFrameParser((f) => {
    if (f.kind === "stanza" && out === undefined) out = f.element;
    else if (f.kind !== "open") bad = true;
    // Our own storage, written from stanzas the streams accepted: any depth
    // a stream could have let through reads back (not the client default).
  }, { maxStanzaSize: xml.length + 1, maxStanzaDepth: MAX_STANZA_DEPTH + RELAY_DEPTH_ALLOWANCE });
  parser.write(WRAPPER + xml);
  return bad ? undefined : out;
}

/** UTF-8 length of an element as it is stored. */
export function serializedBytes(e: Element): { text: string; bytes: number } {
  const text = serialize(e);
  return { text, bytes: utf8Length(text) };
}
