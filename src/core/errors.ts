/**
 * Typed protocol errors that map one-to-one to RFC 6120 XML: throw a
 * `StreamError` to end a stream (§4.9.3), build a `StanzaError` to bounce
 * a stanza (§8.3).
 */
import { el, Element } from "../xml/element.ts";
import { NS } from "../xml/namespaces.ts";

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
  constructor(readonly condition: StreamErrorCondition, readonly text?: string) {
    super(text ? `${condition}: ${text}` : condition);
    this.name = "StreamError";
  }

  toElement(): Element {
    return el(
      "stream:error",
      {},
      el(this.condition, { xmlns: NS.streams }),
      this.text ? el("text", { xmlns: NS.streams }, this.text) : undefined,
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
    );
  }
}

/**
 * The error reply to `stanza` (RFC 6120 §8.3.1): addresses swapped, type
 * "error", the original payload kept so the sender can correlate it.
 */
export function errorReply(stanza: Element, error: StanzaError): Element {
  const reply = new Element(stanza.name, { ...stanza.attrs }, [...stanza.children]);
  reply.setAttr("to", stanza.attrs.from).setAttr("from", stanza.attrs.to).setAttr("type", "error");
  // An iq's error echoes nothing but the error, which keeps replies small.
  if (stanza.name === "iq") reply.children = [];
  reply.children.push(error.toElement());
  return reply;
}
