/**
 * Message carbons (XEP-0280) from the client's side, for integration
 * tests: switching them, recognising copies, and a barrier that proves a
 * copy did not come (rather than waiting a while and hoping).
 */
import type { TestClient } from "./client.ts";
import { iq } from "./client.ts";
import type { Element } from "../../src/xml/element.ts";

export const CARBONS = "urn:xmpp:carbons:2";
export const FORWARD = "urn:xmpp:forward:0";

let ids = 0;

/** `<enable/>` or `<disable/>`; resolves with the iq answering it. */
export function switchCarbons(c: TestClient, on: boolean, to?: string): Promise<Element> {
  const id = "carbons-" + ++ids;
  const toAttr = to === undefined ? "" : ` to='${to}'`;
  return iq(
    c,
    id,
    `<iq type='set' id='${id}'${toAttr}><${on ? "enable" : "disable"} xmlns='${CARBONS}'/></iq>`,
  );
}

/** The forwarded message inside a `<sent/>` or `<received/>` carbon, if `e` is one. */
export function carbonOf(e: Element, kind: "sent" | "received"): Element | undefined {
  if (e.name !== "message") return undefined;
  return e.getChild(kind, CARBONS)?.getChild("forwarded", FORWARD)?.findChild("message");
}

/** Any carbon, of either kind. */
export const isAnyCarbon = (e: Element) =>
  carbonOf(e, "sent") !== undefined || carbonOf(e, "received") !== undefined;

/** Wait for the `kind` carbon of the message whose body is `body`. */
export async function carbon(
  c: TestClient,
  kind: "sent" | "received",
  body: string,
): Promise<{ wrapper: Element; inner: Element }> {
  const wrapper = await c.stanza((e) => carbonOf(e, kind)?.getChildText("body") === body);
  return { wrapper, inner: carbonOf(wrapper, kind)! };
}

let barriers = 0;

/**
 * `from` sends `to` a headline (never copied) and waits until it arrives.
 * The server handles one client's stanzas in order and writes a copy
 * while handling the message it copies, so anything `from` sent earlier
 * that would have been copied to `to` is in `to`'s inbox by now.
 */
export async function barrier(from: TestClient, to: TestClient): Promise<void> {
  const body = "barrier-" + ++barriers;
  from.send(`<message to='${to.jid}' type='headline'><body>${body}</body></message>`);
  await to.stanza((e) => e.getChildText("body") === body);
}

/** The carbons `c` has received so far (taken from its inbox). */
export function takeCarbons(c: TestClient): Element[] {
  const out: Element[] = [];
  for (let i = 0; i < c.frames.length;) {
    const f = c.frames[i];
    if (f.kind === "stanza" && isAnyCarbon(f.element)) {
      out.push(f.element);
      c.frames.splice(i, 1);
    } else i++;
  }
  return out;
}
