/**
 * Which messages are carbon-copied: the rules of XEP-0280 §6 (which the
 * server promises by advertising `urn:xmpp:carbons:rules:0`), with the
 * per-message opt-outs of §8 and XEP-0334.
 *
 * - never a message with `<private/>` (XEP-0280) or `<no-copy/>`
 *   (XEP-0334), nor one that is itself a carbon (its `<sent/>` or
 *   `<received/>` child: copying it would wrap a carbon in a carbon);
 * - never `groupchat`: the room sends it to every joined client;
 * - a MUC private message *from* an occupant (a full JID, with the
 *   `muc#user` `<x/>` clients add) is not copied either: the room
 *   replicates it to each of the user's joined clients, and other clients
 *   could not answer it. One *to* an occupant is copied (the sent side);
 * - MUC invitations, direct (XEP-0249) or mediated (`<invite/>`), are;
 * - `chat`; `normal` with a `<body/>`; any message carrying an IM payload
 *   (chat states, delivery receipts, chat markers);
 * - `error` only "in response to a message that was eligible": the
 *   server keeps no record of what it forwarded, and §10.3 forbids
 *   judging a bounce by the original it may echo, so the one error taken
 *   as such is the bounce of a message sent to a bare JID (what chat
 *   clients send) — an incoming error from a bare JID.
 */
import type { Element } from "../../xml/element.ts";
import { messageType } from "../../core/delivery.ts";
import {
  NS_CARBONS,
  NS_CHATSTATES,
  NS_CONFERENCE,
  NS_HINTS,
  NS_MARKERS,
  NS_MUC_USER,
  NS_RECEIPTS,
} from "./ns.ts";

/** `sent`: a local client sent it; `received`: it is being delivered to a local user. */
export type Direction = "sent" | "received";

const IM_PAYLOADS = new Set([NS_CHATSTATES, NS_RECEIPTS, NS_MARKERS]);

/** The message opted out of copies (XEP-0280 `<private/>`, XEP-0334 `<no-copy/>`). */
export function optedOut(message: Element): boolean {
  return message.getChild("private", NS_CARBONS) !== undefined ||
    message.getChild("no-copy", NS_HINTS) !== undefined;
}

/** A `<sent/>` or `<received/>` wrapper as a direct child: the message is (or forges) a carbon. */
export function isCarbon(message: Element): boolean {
  return message.getChild("sent", NS_CARBONS) !== undefined ||
    message.getChild("received", NS_CARBONS) !== undefined;
}

function hasResource(jid: string | undefined): boolean {
  return jid !== undefined && jid.includes("/");
}

export function isEligible(message: Element, direction: Direction): boolean {
  if (optedOut(message) || isCarbon(message)) return false;
  const type = messageType(message);
  if (type === "groupchat") return false;
  if (type === "error") return direction === "received" && !hasResource(message.attrs.from);
  let imPayload = false;
  let mucUser: Element | undefined;
  for (const c of message.children) {
    if (typeof c === "string") continue;
    const ns = c.attrs.xmlns;
    if (ns === undefined) continue;
    if (ns === NS_CONFERENCE && c.name === "x") return true;
    if (ns === NS_MUC_USER && c.name === "x") mucUser = c;
    else if (IM_PAYLOADS.has(ns)) imPayload = true;
  }
  if (mucUser) {
    if (mucUser.getChild("invite") !== undefined) return true;
    if (direction === "received" && hasResource(message.attrs.from)) return false;
  }
  if (type === "chat" || imPayload) return true;
  return type === "normal" && message.getChild("body") !== undefined;
}
