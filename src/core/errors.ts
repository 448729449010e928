/**
 * Typed protocol errors that map one-to-one to RFC 6120 XML: throw a
 * `StreamError` to end a stream (§4.9.3), build a `StanzaError` to bounce
 * a stanza (§8.3).
 */
import { el, Element } from "../xml/element.ts";
import { NS } from "../xml/namespaces.ts";
import { type TreeLimits, withinLimits } from "../xml/tree_bounds.ts";

export type StreamErrorCondition =
  | "bad-format"
  | "bad-namespace-prefix"
  | "conflict"
  | "connection-timeout"
  | "host-gone"
  | "host-unknown"
  | "improper-addressing"
  | "internal-server-error"
  | "invalid-from"
  | "invalid-namespace"
  | "invalid-xml"
  | "not-authorized"
  | "not-well-formed"
  | "policy-violation"
  | "remote-connection-failed"
  | "reset"
  | "resource-constraint"
  | "restricted-xml"
  | "see-other-host"
  | "system-shutdown"
  | "undefined-condition"
  | "unsupported-encoding"
  | "unsupported-feature"
  | "unsupported-stanza-type"
  | "unsupported-version";

export class StreamError extends Error {
  /**
   * `appCondition`: an application-specific condition (RFC 6120 §4.9.4),
   * such as XEP-0198's `<handled-count-too-high/>`.
   */
  constructor(
    readonly condition: StreamErrorCondition,
    readonly text?: string,
    readonly appCondition?: Element,
  ) {
    super(text ? `${condition}: ${text}` : condition);
    this.name = "StreamError";
  }

  toElement(): Element {
    return el(
      "stream:error",
      {},
      el(this.condition, { xmlns: NS.streams }),
      this.text ? el("text", { xmlns: NS.streams }, this.text) : undefined,
      this.appCondition,
    );
  }
}

export type StanzaErrorType = "auth" | "cancel" | "continue" | "modify" | "wait";

export type StanzaErrorCondition =
  | "bad-request"
  | "conflict"
  | "feature-not-implemented"
  | "forbidden"
  | "gone"
  | "internal-server-error"
  | "item-not-found"
  | "jid-malformed"
  | "not-acceptable"
  | "not-allowed"
  | "not-authorized"
  | "policy-violation"
  | "recipient-unavailable"
  | "redirect"
  | "registration-required"
  | "remote-server-not-found"
  | "remote-server-timeout"
  | "resource-constraint"
  | "service-unavailable"
  | "subscription-required"
  | "undefined-condition"
  | "unexpected-request";

export class StanzaError extends Error {
  constructor(
    readonly type: StanzaErrorType,
    readonly condition: StanzaErrorCondition,
    readonly text?: string,
    readonly by?: string,
    /** An application-specific condition (RFC 6120 §8.3.2), e.g. pubsub#errors ones. */
    readonly appCondition?: Element,
  ) {
    super(text ? `${condition}: ${text}` : condition);
    this.name = "StanzaError";
  }

  toElement(): Element {
    return el(
      "error",
      { type: this.type, by: this.by },
      el(this.condition, { xmlns: NS.stanzas }),
      this.text ? el("text", { xmlns: NS.stanzas }, this.text) : undefined,
      this.appCondition,
    );
  }
}

/**
 * How much of a stanza's payload an error reply may echo. RFC 6120 §8.3.1
 * lets the server include the original payload (so the sender can tell
 * what failed) but does not require it, and the sender already has it:
 * the id correlates the reply. These bounds keep every real payload —
 * XHTML-IM, forwarded carbons, data forms: a few levels, a few dozen
 * nodes — while a reply never costs more than a small stanza to build or
 * write, whatever a hostile sender nested or packed into the original.
 * Deciding costs at most `maxNodes` steps (withinLimits stops early).
 */
export const ECHO_LIMITS: TreeLimits = { maxDepth: 16, maxNodes: 256, maxChars: 16 * 1024 };

/**
 * The error reply to `stanza` (RFC 6120 §8.3.1): addresses swapped, type
 * "error", the original payload kept so the sender can correlate it when
 * it is within ECHO_LIMITS, else left out.
 */
export function errorReply(stanza: Element, error: StanzaError): Element {
  // An iq's error echoes nothing but the error, which keeps replies small.
  const echo = stanza.name !== "iq" && withinLimits(stanza.children, ECHO_LIMITS);
  const reply = new Element(stanza.name, { ...stanza.attrs }, echo ? [...stanza.children] : []);
  reply.setAttr("to", stanza.attrs.from).setAttr("from", stanza.attrs.to).setAttr("type", "error");
  reply.children.push(error.toElement());
  return reply;
}
