/**
 * Which messages wake a sleeping client (the idea of Prosody's
 * mod_cloud_notify): chat and normal messages with a body, an encrypted
 * payload (OMEMO, OpenPGP) or a call proposal (XEP-0353); groupchat with a
 * body only when addressed to one resource (a room's message to its
 * occupant). Errors, headlines, chat states, receipts and markers do not.
 */
import type { Element } from "../../xml/element.ts";
import { messageType } from "../../core/delivery.ts";

/** Payloads worth a notification even without a body. */
const WAKING = new Set([
  "eu.siacs.conversations.axolotl",
  "urn:xmpp:omemo:2",
  "urn:xmpp:openpgp:0",
  "urn:xmpp:jingle-message:0",
]);

export function pushWorthy(message: Element, toFullJid: boolean): boolean {
  const type = messageType(message);
  if (type === "groupchat") return toFullJid && message.getChild("body") !== undefined;
  if (type !== "chat" && type !== "normal") return false;
  for (const child of message.children) {
    if (typeof child === "string") continue;
    const ns = child.attrs.xmlns;
    if (ns === undefined ? child.name === "body" : WAKING.has(ns)) {
      // jingle-message: only the proposal rings, not retract/accept/finish.
      if (ns === "urn:xmpp:jingle-message:0" && child.name !== "propose") continue;
      return true;
    }
  }
  return false;
}
