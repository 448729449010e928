/**
 * Which groupchat messages the room archives (and stamps with its
 * `<stanza-id/>`): those with a body, and the bodiless ones that change
 * what a reader sees later — reactions (XEP-0444), retractions
 * (XEP-0424), fastenings, encrypted payloads (XEP-0380). Not chat states
 * or markers alone (stale once read back). XEP-0334 hints decide first:
 * `no-store`/`no-permanent-store` keep a message out, `store` keeps it.
 * History on join still sends messages with a body only.
 */
import type { Element } from "../../xml/element.ts";
import { worthKeeping } from "../../util/storage_hints.ts";
import { NS_FASTEN, NS_RETRACT_0, NS_RETRACT_1 } from "./ns.ts";

/** Payloads worth keeping without a body: namespace → element name. */
const BODILESS_CONTENT = new Map([
  ["urn:xmpp:reactions:0", "reactions"],
  [NS_RETRACT_1, "retract"],
  [NS_RETRACT_0, "retract"],
  [NS_FASTEN, "apply-to"],
  ["urn:xmpp:eme:0", "encryption"],
  ["eu.siacs.conversations.axolotl", "encrypted"],
]);

export function roomArchivable(message: Element): boolean {
  return worthKeeping(message, isContent);
}

function isContent(c: Element): boolean {
  const ns = c.attrs.xmlns;
  return ns === undefined ? c.name === "body" : BODILESS_CONTENT.get(ns) === c.name;
}
