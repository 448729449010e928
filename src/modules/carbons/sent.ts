/**
 * `<sent/>` copies (XEP-0280 §7), on the sender's host: a message a
 * local client sends — to a local user, another server or a component —
 * is copied to each of the sender's other carbons-enabled resources,
 * whether or not the sending one enabled carbons. Runs before delivery
 * (`CARBONS_PRIORITY`), after MAM has stamped its `<stanza-id/>`, and
 * never stops the event.
 *
 * A message to the user's own account gets no sent copies: its
 * recipient side (received.ts) already copies it to every enabled
 * resource that does not get the original, and a resource must not get
 * both.
 */
import type { ModuleApi } from "../../core/module_api.ts";
import type { StanzaEvent } from "../../core/router.ts";
import { isEligible } from "./eligibility.ts";
import { enabledSessions } from "./state.ts";
import { carbonCopy, forwardable } from "./wrap.ts";

export const CARBONS_PRIORITY = 5;

export function installSent(api: ModuleApi): void {
  const sent = (ev: StanzaEvent) => {
    const origin = ev.origin;
    if (!origin?.username) return false;
    const to = ev.to;
    if (to && to.local === origin.username && to.domain === origin.host) return false;
    const targets = enabledSessions(api.sessions.resources(api.domain, origin.username), origin);
    if (targets.length === 0 || !isEligible(ev.stanza, "sent")) return false;
    const bare = origin.bareJid!;
    const forwarded = forwardable(ev.stanza);
    for (const s of targets) s.send(carbonCopy("sent", ev.stanza, bare, s.fullJid!, forwarded));
    return false;
  };
  // `host` (the server itself) is no conversation; `self` is the own account.
  for (const toType of ["bare", "full", "remote"]) {
    api.hook(`pre-message/${toType}`, sent, CARBONS_PRIORITY);
  }
}
