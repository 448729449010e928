/**
 * Reading a BOSH request body (XEP-0124 §6): one `<body/>` in the
 * httpbind namespace, whose children are the stanzas. It goes through
 * the same XmlFrameParser as a TCP stream, with `<body>` in the place of
 * the stream header, so XMPP's restrictions (no DTD, comments or
 * processing instructions) and the stanza size, depth and attribute
 * limits apply exactly as they do to a TCP client.
 */
import type { Element } from "../../xml/element.ts";
import { XmlFrameParser } from "../../xml/parser.ts";
import { NS } from "../../xml/namespaces.ts";

export const NS_HTTPBIND = "http://jabber.org/protocol/httpbind";
/** XEP-0206's namespace for `xmpp:version` and `xmpp:restart`. */
export const NS_XBOSH = "urn:xmpp:xbosh";

export interface BoshBody {
  /** The `<body/>` attributes as written (httpbind attributes are unprefixed). */
  attrs: Record<string, string>;
  /** Attributes in the XEP-0206 namespace, by local name, whatever prefix the client chose. */
  xmpp: Record<string, string>;
  /** The payload, in order: stanzas carry no xmlns when in jabber:client. */
  elements: Element[];
}

export type BodyCondition = "bad-request" | "policy-violation";

export type BodyParse =
  | { ok: true; body: BoshBody }
  | {
    ok: false;
    condition: BodyCondition;
    text: string;
    /** The session the broken body was for, when its `<body>` tag was read. */
    sid?: string;
  };

export interface BodyLimits {
  maxStanzaSize: number;
  maxStanzaDepth: number;
  maxStanzas: number;
}

/** Thrown out of the parser's callback to stop at once. */
class Refusal {
  constructor(readonly condition: BodyCondition, readonly text: string) {}
}

export function parseBody(text: string, limits: BodyLimits): BodyParse {
  let attrs: Record<string, string> | undefined;
  const elements: Element[] = [];
  let closed = false;
  const parser = new XmlFrameParser((frame) => {
    switch (frame.kind) {
      case "open": {
        const local = frame.name.slice(frame.name.indexOf(":") + 1);
        if (local !== "body" || frame.ns !== NS_HTTPBIND) {
          throw new Refusal("bad-request", "The root must be <body/> in " + NS_HTTPBIND);
        }
        attrs = frame.attrs;
        return;
      }
      case "stanza": {
        if (elements.length >= limits.maxStanzas) {
          throw new Refusal("policy-violation", "Too many stanzas in one body");
        }
        const e = frame.element;
        // Stanzas in a body are qualified by jabber:client (XEP-0206 §5);
        // the stream core takes an unqualified element as a stanza. One
        // left in the body's namespace is taken as jabber:client too.
        if (e.attrs.xmlns === NS.client) delete e.attrs.xmlns;
        elements.push(e);
        return;
      }
      case "close":
        closed = true;
        return;
      case "error":
        throw new Refusal(
          frame.condition === "policy-violation" ? "policy-violation" : "bad-request",
          frame.text,
        );
    }
  }, { maxStanzaSize: limits.maxStanzaSize, maxStanzaDepth: limits.maxStanzaDepth });
  try {
    parser.write(text);
  } catch (err) {
    if (err instanceof Refusal) {
      return { ok: false, condition: err.condition, text: err.text, sid: attrs?.sid };
    }
    throw err;
  }
  if (!attrs || !closed) {
    return { ok: false, condition: "bad-request", text: "Incomplete body", sid: attrs?.sid };
  }
  return { ok: true, body: { attrs, xmpp: xboshAttrs(attrs), elements } };
}

/** The XEP-0206 attributes by local name, found through the prefix declared for them. */
function xboshAttrs(attrs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in attrs) {
    if (!k.startsWith("xmlns:") || attrs[k] !== NS_XBOSH) continue;
    const prefix = k.slice(6) + ":";
    for (const a in attrs) if (a.startsWith(prefix)) out[a.slice(prefix.length)] = attrs[a];
  }
  return out;
}

/** A `rid`: a positive integer below 2^53 (XEP-0124 §14.1). */
export function parseRid(value: string | undefined): number | undefined {
  if (value === undefined || !/^[0-9]{1,16}$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}
