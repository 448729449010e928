/**
 * `<received/>` copies (XEP-0280 §6), on the recipient's host: once a
 * message for a local user is delivered by the rules of RFC 6121, each
 * of the user's carbons-enabled resources that does not get the original
 * gets a copy. Which resources get the original is worked out here the
 * way core delivery (delivery.ts) will pick them a moment later; this
 * runs before it (`CARBONS_PRIORITY`, after MAM and push) and never
 * stops the event.
 *
 * The recipient side also cleans the message before delivery:
 * `<private/>` is removed (§8: the receiving server SHOULD), and so are
 * `<sent/>`/`<received/>` wrappers at its top: a real carbon is never
 * routed (copies go straight to the user's sessions), so one arriving
 * here is forged, and clients that fail to check its sender (§11) would
 * show it as the user's own conversation.
 */
import type { ModuleApi } from "../../core/module_api.ts";
import type { StanzaEvent } from "../../core/router.ts";
import type { Session } from "../../core/session.ts";
import { bareRecipients, messageType } from "../../core/delivery.ts";
import type { Element } from "../../xml/element.ts";
import { isEligible } from "./eligibility.ts";
import { NS_CARBONS } from "./ns.ts";
import { CARBONS_PRIORITY } from "./sent.ts";
import { enabledSessions } from "./state.ts";
import { carbonCopy, forwardable } from "./wrap.ts";

const STRIPPED = new Set(["private", "sent", "received"]);

const stripped = (c: Element | string) =>
  typeof c !== "string" && c.attrs.xmlns === NS_CARBONS && STRIPPED.has(c.name);

/** The message without what must not reach the recipient, or itself when nothing must go. */
function cleaned(message: Element): Element {
  if (!message.children.some(stripped)) return message;
  // A copy: the original object may already be archived or queued elsewhere.
  const copy = message.clone();
  copy.children = copy.children.filter((c) => !stripped(c));
  return copy;
}

export function installReceived(api: ModuleApi): void {
  const { sessions, domain } = api;

  /** RFC 6121 §8.5.2.1: who gets a message to the bare JID; undefined: nobody (dropped). */
  const bareDelivery = (user: string, type: string): Session[] | undefined => {
    if (type === "error") return undefined; // dropped by delivery.ts
    return bareRecipients(sessions.bareTargets(domain, user), type);
  };

  /** Who gets the original; undefined when it is not delivered (bounced or dropped). */
  const delivery = (ev: StanzaEvent, user: string, full: boolean): Session[] | undefined => {
    const type = messageType(ev.stanza);
    if (!full) return bareDelivery(user, type);
    const target = sessions.full(ev.to!.full, domain);
    if (target) return [target];
    // §8.5.3.2.1: only chat to a resource that is not there goes on as if to the bare JID.
    return type === "chat" ? bareDelivery(user, type) : undefined;
  };

  const received = (ev: StanzaEvent, user: string | undefined, full: boolean) => {
    const original = ev.stanza;
    ev.stanza = cleaned(original);
    if (user === undefined) return false;
    // Cheapest first: most users have no carbons-enabled resource.
    const enabled = enabledSessions(sessions.resources(domain, user), ev.origin);
    if (enabled.length === 0 || !isEligible(original, "received")) return false;
    const delivered = delivery(ev, user, full);
    if (delivered === undefined) return false;
    const bare = user + "@" + domain;
    let forwarded: Element | undefined;
    for (const s of enabled) {
      if (delivered.includes(s)) continue;
      forwarded ??= forwardable(ev.stanza);
      s.send(carbonCopy("received", ev.stanza, bare, s.fullJid!, forwarded));
    }
    return false;
  };

  api.hook("message/bare", (ev) => received(ev, ev.to!.local, false), CARBONS_PRIORITY);
  api.hook("message/full", (ev) => received(ev, ev.to!.local, true), CARBONS_PRIORITY);
  // A message with no `to` is for the sender's own account.
  api.hook("message/self", (ev) => received(ev, ev.origin?.username, false), CARBONS_PRIORITY);
}
