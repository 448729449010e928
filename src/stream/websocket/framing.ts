/**
 * The XMPP-over-WebSocket framing (RFC 7395 §3.3): each WebSocket text
 * message is one complete XML element, parsed as a standalone document;
 * the stream is opened and closed with `<open/>` and `<close/>` in
 * `urn:ietf:params:xml:ns:xmpp-framing`.
 *
 * Input goes through the project's XmlFrameParser, so the TCP stream's
 * limits (stanza size, nesting depth, attributes) and RFC 6120 §11
 * restrictions (no DOCTYPE, comments, PIs) hold unchanged: the parser is
 * fed a synthetic stream root once, then each message; a message must
 * produce exactly one frame and leave the parser back at stream level.
 *
 * Output: each element the stream core writes in its content namespace
 * becomes a standalone document (§3.3.3): an unqualified top-level element
 * gets the content namespace, a `stream:` element its prefix declaration.
 */
import type { Element } from "../../xml/element.ts";
import { escapeAttr } from "../../xml/element.ts";
import { NS } from "../../xml/namespaces.ts";
import { type Frame, XmlFrameParser } from "../../xml/parser.ts";
import type { StreamLimits } from "../frame_input.ts";
import type { StreamOpenAttrs } from "../transport.ts";

export const NS_FRAMING = "urn:ietf:params:xml:ns:xmpp-framing";

/**
 * What each message is parsed inside of. Only the default namespace is
 * declared: a client's `stream:error` must declare its prefix itself, as a
 * standalone document would.
 */
const ROOT = `<ws xmlns='${NS.client}'>`;

/** The `<open/>` attributes a client stream header carries over (RFC 7395 §3.4). */
const OPEN_ATTRS = ["to", "from", "version", "xml:lang", "id"];

function error(condition: Extract<Frame, { kind: "error" }>["condition"], text: string): Frame {
  return { kind: "error", condition, text };
}

/**
 * Turns messages into frames, one message at a time. After an error frame
 * the reader is useless: the stream ends.
 */
export class WsMessageReader {
  readonly #parser: XmlFrameParser;
  readonly #maxSize: number;
  readonly #got: Frame[] = [];
  /** An `<open/>` is due: at the start and after a restart (RFC 7395 §3.5). */
  #expectOpen = true;

  constructor(limits: StreamLimits) {
    this.#maxSize = limits.maxStanzaSize;
    this.#parser = new XmlFrameParser((f) => this.#got.push(f), {
      maxStanzaSize: limits.maxStanzaSize,
      maxStanzaDepth: limits.maxStanzaDepth,
    });
    this.#parser.write(ROOT);
    this.#got.length = 0;
  }

  /** A new stream follows (after SASL success): the client sends a new `<open/>`. */
  restart(): void {
    this.#expectOpen = true;
  }

  /** Give back the parser's state while idle (see XmlFrameParser.compact). */
  compact(): boolean {
    return this.#parser.compact();
  }

  /** One message's frame; undefined for a whitespace-only message (a keepalive). */
  read(text: string): Frame | undefined {
    if (text.length > this.#maxSize) return error("policy-violation", "message too large");
    if (text.trim() === "") return undefined;
    // One array for every message, emptied again before returning.
    const got = this.#got;
    this.#parser.write(text);
    const frame = got.length === 1 ? got[0] : got.find((f) => f.kind === "error");
    got.length = 0;
    if (frame?.kind === "error") return frame;
    if (frame?.kind !== "stanza" || !this.#parser.atStreamLevel) {
      return error(
        "not-well-formed",
        "each WebSocket message must hold exactly one complete XML element",
      );
    }
    const element = frame.element;
    if (element.attrs.xmlns !== NS_FRAMING) return frame;
    if (element.name === "open") {
      if (!this.#expectOpen) return error("invalid-xml", "<open/> only starts a stream");
      this.#expectOpen = false;
      return openFrame(element);
    }
    if (element.name === "close") return { kind: "close" };
    return error("unsupported-stanza-type", "unknown framing element");
  }
}

/** `<open/>` as the stream header a TCP client would have sent (what the core checks). */
function openFrame(open: Element): Frame {
  const attrs: Record<string, string> = { xmlns: NS.client };
  for (const name of OPEN_ATTRS) {
    const value = open.attrs[name];
    if (value !== undefined) attrs[name] = value;
  }
  return { kind: "open", name: "stream:stream", ns: NS.stream, attrs };
}

/** Our `<open/>` (RFC 7395 §3.4): the header's attributes, in the framing namespace. */
export function openElement(attrs: StreamOpenAttrs): string {
  let s = `<open xmlns='${NS_FRAMING}'`;
  for (const k in attrs) {
    const v = attrs[k];
    if (k !== "xmlns" && !k.startsWith("xmlns:") && v !== undefined) {
      s += " " + k + "='" + escapeAttr(v) + "'";
    }
  }
  return s + "/>";
}

export const CLOSE_ELEMENT = `<close xmlns='${NS_FRAMING}'/>`;

/**
 * One serialized element made standalone: `contentNs` on an unqualified
 * top-level element, the stream prefix declared on a `stream:` element.
 * Scans only the start tag (quotes respected); the rest is untouched.
 */
export function qualify(data: string, contentNs: string): string {
  if (data.charCodeAt(0) !== 0x3c) return data;
  let i = 1;
  while (i < data.length && !isNameEnd(data.charCodeAt(i))) i++;
  const name = data.slice(1, i);
  const prefixed = name.startsWith("stream:");
  if (!prefixed && name.includes(":")) return data;
  if (prefixed) {
    return declares(data, i, "xmlns:stream")
      ? data
      : data.slice(0, i) + ` xmlns:stream='${NS.stream}'` + data.slice(i);
  }
  let decl = declares(data, i, "xmlns") ? "" : ` xmlns='${escapeAttr(contentNs)}'`;
  // An element in the streams namespace deep inside (a peer put it in its
  // stanza) is written with the prefix a TCP stream's header declares;
  // here nothing does. `<` appears in serialized XML only to start markup.
  if (data.includes("<stream:", i) && !declares(data, i, "xmlns:stream")) {
    decl += ` xmlns:stream='${NS.stream}'`;
  }
  return decl === "" ? data : data.slice(0, i) + decl + data.slice(i);
}

function isNameEnd(c: number): boolean {
  return c === 0x20 || c === 0x3e || c === 0x2f || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Whether the start tag beginning before `from` has the attribute `attr`. */
function declares(data: string, from: number, attr: string): boolean {
  let quote = 0;
  for (let i = from; i < data.length; i++) {
    const c = data.charCodeAt(i);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 0x27 || c === 0x22) quote = c;
    else if (c === 0x3e) return false;
    else if (
      (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) &&
      data.startsWith(attr, i + 1) && data.charCodeAt(i + 1 + attr.length) === 0x3d
    ) {
      return true;
    }
  }
  return false;
}
