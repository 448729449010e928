/**
 * Carbon copies a session never acknowledged when it ends (stream
 * management, or output that overflowed) are dropped instead of going
 * to offline storage with the other unacknowledged messages (the
 * host's `undelivered` event): the original was delivered to another
 * resource or stored already, so keeping the copy would replay the
 * conversation as a carbon at the next login, possibly on the very
 * resource that had the original.
 */
import type { ModuleApi } from "../../core/module_api.ts";
import { isCarbon } from "./eligibility.ts";

/** Above core delivery, which stores what is left. */
const PRIORITY = 5;

export function installUnackedFilter(api: ModuleApi): void {
  api.hook("undelivered", (ev) => {
    const bare = ev.session.bareJid;
    // Only our own copies: from the user's bare JID (a forged one never reaches a session).
    const kept = ev.stanzas.filter((s) => !(s.attrs.from === bare && isCarbon(s)));
    if (kept.length !== ev.stanzas.length) ev.stanzas = kept;
    return false;
  }, PRIORITY);
}
