/**
 * The carbon copy itself (XEP-0280 §6 and §7): a message from the user's
 * bare JID to the receiving resource, of the original's type, holding
 * `<sent/>` or `<received/>` around a XEP-0297 `<forwarded/>` copy.
 *
 * The original is cloned: it is still on its way to other sessions (and
 * later handlers may change it), and an outbox may serialize lazily. One
 * clone per message (`forwardable`) is shared by all its copies: elements
 * have no parent link, and nothing changes a stanza once it is sent.
 * Whatever earlier handlers stamped on the original (MAM's `<stanza-id/>`)
 * is in the clone.
 */
import { el, type Element } from "../../xml/element.ts";
import { NS } from "../../xml/namespaces.ts";
import { NS_CARBONS, NS_FORWARD } from "./ns.ts";

export type CarbonKind = "sent" | "received";

/** The clone of `original` that goes inside `<forwarded/>`, for every copy of it. */
export function forwardable(original: Element): Element {
  const copy = original.clone();
  // Inside <forwarded/> the stanza needs its namespace spelled out; one
  // that came over s2s is a jabber:client stanza for the client reading it.
  // (xmlns first, for a readable copy.)
  copy.attrs = { xmlns: NS.client, ...copy.attrs };
  copy.attrs.xmlns = NS.client;
  return copy;
}

/** A copy for `toFull`; pass `forwarded` (from `forwardable`) when there are several. */
export function carbonCopy(
  kind: CarbonKind,
  original: Element,
  userBare: string,
  toFull: string,
  forwarded: Element = forwardable(original),
): Element {
  return el(
    "message",
    { from: userBare, to: toFull, type: original.attrs.type },
    el(kind, { xmlns: NS_CARBONS }, el("forwarded", { xmlns: NS_FORWARD }, forwarded)),
  );
}
