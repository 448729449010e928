/**
 * Enforcing block lists (XEP-0191 §3.3) on every stanza between a user
 * and a blocked JID, in both directions:
 *
 * - inbound (from the blocked JID): presence dropped silently, messages
 *   and iq get/set answered with service-unavailable (the user looks
 *   offline), other iqs dropped;
 * - outbound from the user's client: refused with not-acceptable and
 *   `<blocked xmlns='urn:xmpp:blocking:errors'/>`;
 * - outbound made by the server for the user (presence broadcasts…):
 *   dropped, there is no client to tell.
 *
 * The hooks run above delivery and the other modules (offline storage,
 * presence subscriptions) so nothing from a blocked JID gets anywhere.
 */
import { el, type Element } from "../../xml/element.ts";
import { type Jid, parseJid } from "../../jid.ts";
import { StanzaError } from "../../core/errors.ts";
import type { ModuleApi } from "../../core/module_api.ts";
import type { StanzaEvent } from "../../core/router.ts";
import { type BlockList, type BlockLists, isBlocked } from "./lists.ts";

export const NS_BLOCKING_ERRORS = "urn:xmpp:blocking:errors";

/** Above the modules that deliver or store stanzas (they use 0 and below). */
export const BLOCKING_PRIORITY = 100;

const KINDS = ["message", "presence", "iq"];

/** §3.3: what the user's client gets for a stanza to a JID it blocked. */
export class BlockedError extends StanzaError {
  constructor() {
    super("cancel", "not-acceptable", "You have blocked this contact");
  }

  override toElement(): Element {
    return super.toElement().append(el("blocked", { xmlns: NS_BLOCKING_ERRORS }));
  }
}

type Decision = boolean | Promise<boolean>;

/** Run `fn` on a list that may still be loading, staying synchronous when cached. */
function withList(
  list: BlockList | Promise<BlockList>,
  fn: (list: BlockList) => Decision,
): Decision {
  return list instanceof Promise ? list.then(fn) : fn(list);
}

export function installEnforcement(
  api: ModuleApi,
  lists: BlockLists,
  exempt: WeakSet<Element>,
): void {
  /** The sender's localpart when it is an account of this host. */
  const localUser = (jid: Jid) => jid.domain === api.domain ? jid.local : undefined;

  /** A stanza the blocked JID sent to the user: answered as if nobody were there. */
  const refuseInbound = (ev: StanzaEvent): true => {
    const stanza = ev.stanza;
    const type = stanza.attrs.type;
    if (stanza.name === "message" || (stanza.name === "iq" && (type === "get" || type === "set"))) {
      api.replyError(ev, new StanzaError("cancel", "service-unavailable"));
    }
    return true;
  };

  /**
   * The sender's own list, for stanzas the server sends on a user's
   * behalf (they skip the pre-* hooks). Errors pass, so that replies to
   * the blocked JID's stanzas still reach it.
   */
  const senderBlocked = (ev: StanzaEvent, sender: Jid, to: Jid): Decision => {
    const user = localUser(sender);
    if (user === undefined || exempt.has(ev.stanza) || ev.stanza.attrs.type === "error") {
      return false;
    }
    return withList(lists.get(user), (list) => isBlocked(list, to));
  };

  // To a user of this host (bare or full JID).
  const inbound = (ev: StanzaEvent): Decision => {
    const from = ev.stanza.attrs.from;
    const to = ev.to;
    if (from === undefined || to?.local === undefined) return false;
    const sender = parseJid(from);
    if (sender === undefined || sender.bare === to.bare) return false;
    return withList(lists.get(to.local), (list) => {
      if (isBlocked(list, sender)) return refuseInbound(ev);
      return senderBlocked(ev, sender, to);
    });
  };

  // To another domain, for stanzas the server makes (client ones were
  // checked in pre-*): only the sender's list applies here.
  const toRemote = (ev: StanzaEvent): Decision => {
    const from = ev.stanza.attrs.from;
    const sender = from === undefined ? undefined : parseJid(from);
    if (sender === undefined || ev.to === undefined) return false;
    return senderBlocked(ev, sender, ev.to);
  };

  // From the user's client to anyone.
  const outbound = (ev: StanzaEvent): Decision => {
    const origin = ev.origin;
    const to = ev.to;
    if (origin?.username === undefined || to === undefined) return false;
    // The user's own server and own account are never blocked targets.
    if (to.bare === origin.bareJid || to.bare === origin.host) return false;
    return withList(lists.get(origin.username), (list) => {
      if (!isBlocked(list, to)) return false;
      if (ev.stanza.attrs.type !== "error") api.replyError(ev, new BlockedError());
      return true;
    });
  };

  for (const kind of KINDS) {
    api.hook(`${kind}/bare`, inbound, BLOCKING_PRIORITY);
    api.hook(`${kind}/full`, inbound, BLOCKING_PRIORITY);
    api.hook(`${kind}/remote`, toRemote, BLOCKING_PRIORITY);
    for (const toType of ["bare", "full", "host", "remote"]) {
      api.hook(`pre-${kind}/${toType}`, outbound, BLOCKING_PRIORITY);
    }
  }
}
