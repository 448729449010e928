/**
 * Wrappers only the server makes, found at the top of a routed message:
 * forged. A real MAM `<result/>` (XEP-0313 §4.2) goes from an archive — a
 * bare JID: the user's account, a room, a service — to the resource that
 * queried; our own results and carbons (XEP-0280) are written straight to
 * the user's sessions and never routed. So a `<result/>` in a message to a
 * bare JID or from a full JID (a contact's resource, a room occupant) is a
 * contact's forgery, removed before the user's clients see it (they are
 * to check where results come from, but not every one does); and the
 * archive keeps no `<result/>`, `<sent/>` or `<received/>` at a message's
 * top, whoever sent it: every device fetches the archive later, and a
 * forged wrapper there would come back as part of the user's own history.
 */
import type { Element } from "../../xml/element.ts";
import { NS_CARBONS } from "./ns.ts";

/** Any MAM version's namespace (mam:0, :1, :2, mam:tmp): clients read several. */
const isMam = (ns: string | undefined) => ns !== undefined && ns.startsWith("urn:xmpp:mam:");

function isResult(c: Element | string): boolean {
  return typeof c !== "string" && c.name === "result" && isMam(c.attrs.xmlns);
}

function isWrapper(c: Element | string): boolean {
  return isResult(c) ||
    (typeof c !== "string" && c.attrs.xmlns === NS_CARBONS &&
      (c.name === "sent" || c.name === "received"));
}

/**
 * Remove forged `<result/>`s from a message for a local user, in place
 * (as forged stanza ids are): `toFull` when it is addressed to a resource.
 */
export function stripForgedResults(message: Element, toFull: boolean): void {
  if (!message.children.some(isResult)) return;
  if (toFull && !(message.attrs.from ?? "").includes("/")) return;
  message.children = message.children.filter((c) => !isResult(c));
}

/** What the archive stores of `message`: itself, or a copy without wrappers. */
export function archivedForm(message: Element): Element {
  if (!message.children.some(isWrapper)) return message;
  // A copy: the message itself goes on, and carbons judge it by its wrappers.
  const copy = message.clone();
  copy.children = copy.children.filter((c) => !isWrapper(c));
  return copy;
}
