/**
 * The XEP-0198 elements the server sends, and the one number it parses
 * (`h`). Namespace urn:xmpp:sm:3 only: the older :2 is not offered.
 */
import { el, type Element } from "../../xml/element.ts";
import { NS } from "../../xml/namespaces.ts";
import { type StanzaErrorCondition, StreamError } from "../../core/errors.ts";

/** The stream feature, offered once the client is authenticated (with bind). */
export function smFeature(): Element {
  return el("sm", { xmlns: NS.sm });
}

/** An ack request. Prebuilt: sent often, never changes. */
export const REQUEST = `<r xmlns='${NS.sm}'/>`;

export function ack(h: number): Element {
  return el("a", { xmlns: NS.sm, h: String(h) });
}

/**
 * `<failed/>` with a stanza error condition (XEP-0198 §3, §5: the
 * condition MUST be a stanza error one, RFC 6120 §8.3.3).
 */
export function failed(condition: StanzaErrorCondition, h?: number): Element {
  return el(
    "failed",
    { xmlns: NS.sm, h: h === undefined ? undefined : String(h) },
    el(condition, { xmlns: NS.stanzas }),
  );
}

/** `<enabled/>`: with an id, max and resume='true' when the session may be resumed. */
export function enabled(id: string | undefined, maxSeconds: number): Element {
  return id === undefined
    ? el("enabled", { xmlns: NS.sm })
    : el("enabled", { xmlns: NS.sm, id, resume: "true", max: String(Math.ceil(maxSeconds)) });
}

export function resumed(previd: string, h: number): Element {
  return el("resumed", { xmlns: NS.sm, previd, h: String(h) });
}

/**
 * XEP-0198 §4: the peer acknowledged more stanzas than we sent. The
 * stream ends with undefined-condition and this application condition.
 */
export function handledCountTooHigh(h: number, sendCount: number): StreamError {
  return new StreamError(
    "undefined-condition",
    `You acknowledged ${h} stanzas, ${sendCount} were sent`,
    el("handled-count-too-high", { xmlns: NS.sm, h: String(h), "send-count": String(sendCount) }),
  );
}

/** `h` as XEP-0198 defines it: an unsigned 32-bit integer; undefined otherwise. */
export function parseH(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9]{1,10}$/.test(text)) return undefined;
  const h = Number(text);
  return h <= 0xffffffff ? h : undefined;
}
