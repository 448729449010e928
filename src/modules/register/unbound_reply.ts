/** In-band registration happens before binding: replies go straight to the stream. */
import { el, type Element } from "../../xml/element.ts";
import { StanzaError } from "../../core/errors.ts";
import type { Session } from "../../core/session.ts";

/** An iq result (with `payload`) or error, written straight to the unbound stream. */
export function replyUnbound(session: Session, iq: Element, payload?: Element | StanzaError): void {
  const id = iq.attrs.id;
  if (payload instanceof StanzaError) {
    session.send(el("iq", { type: "error", id }, payload.toElement()));
  } else {
    session.send(el("iq", { type: "result", id }, payload));
  }
}
