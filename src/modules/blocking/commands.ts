/**
 * The blocking command's iqs (XEP-0191 §3.2–§3.5): retrieve the list,
 * block, unblock and unblock all, with the pushes to the user's resources
 * that asked for the list and the presence the contact gets on each side
 * of a block.
 */
import { el, type Element } from "../../xml/element.ts";
import { parseJid } from "../../jid.ts";
import { StanzaError } from "../../core/errors.ts";
import type { ModuleApi } from "../../core/module_api.ts";
import type { DirectedQuery } from "../../core/presence_queries.ts";
import { subscriptionOf } from "../../core/subscription.ts";
import type { StanzaEvent } from "../../core/router.ts";
import type { Session } from "../../core/session.ts";
import { randomId } from "../../util/random.ts";
import { type BlockLists, isBlocked } from "./lists.ts";
import { NS_BLOCKING } from "../../xml/namespaces.ts";
export { NS_BLOCKING };

export interface CommandContext {
  api: ModuleApi;
  lists: BlockLists;
  /** Resources that retrieved the list: they get the pushes (§3.3). */
  interested: WeakSet<Session>;
  /** Stanzas this module sends that its own filters must let through. */
  exempt: WeakSet<Element>;
}

/** The prepared JIDs of a block/unblock element's items (in order, once each). */
function itemJids(command: Element): string[] {
  const out = new Set<string>();
  for (const item of command.getChildren("item")) {
    const raw = item.attrs.jid;
    if (raw === undefined) throw new StanzaError("modify", "bad-request", "An item needs a jid");
    const jid = parseJid(raw);
    if (jid === undefined) throw new StanzaError("modify", "jid-malformed", `Invalid JID: ${raw}`);
    out.add(jid.full);
  }
  return [...out];
}

function itemsOf(jids: Iterable<string>): Element[] {
  const out: Element[] = [];
  for (const jid of jids) out.push(el("item", { jid }));
  return out;
}

export function installCommands(ctx: CommandContext): void {
  const { api, lists, interested, exempt } = ctx;
  const max = api.config.blocking.maxItems;

  /** §3.3/§3.4: an iq set to every resource that retrieved the list. */
  const push = (user: string, command: Element) => {
    for (const s of api.sessions.resources(api.domain, user)) {
      if (!interested.has(s) || s.destroyed) continue;
      s.send(el("iq", { type: "set", id: "push" + randomId(8), to: s.fullJid }, command.clone()));
    }
  };

  /**
   * Whether blocked item `key` names a contact allowed to see the user's
   * presence: a subscription from/both in the user's roster. Domain items name no contact.
   */
  const seesPresence = async (user: string, key: string): Promise<boolean> => {
    const contact = parseJid(key);
    if (contact?.local === undefined) return false;
    const sub = await subscriptionOf(api, user, contact.bare);
    return sub === "from" || sub === "both";
  };

  api.hook(`iq-get/self/${NS_BLOCKING}:blocklist`, async (ev: StanzaEvent) => {
    const origin = ev.origin!;
    const list = await lists.get(origin.username!);
    interested.add(origin);
    api.replyResult(ev, el("blocklist", { xmlns: NS_BLOCKING }, ...itemsOf(list)));
    return true;
  });

  api.hook(`iq-set/self/${NS_BLOCKING}:block`, async (ev: StanzaEvent) => {
    const user = ev.origin!.username!;
    const jids = itemJids(ev.stanza.firstElement()!);
    if (jids.length === 0) {
      throw new StanzaError("modify", "bad-request", "Block at least one JID");
    }
    const list = await lists.get(user);
    const added = jids.filter((j) => !list.has(j));
    if (list.size + added.length > max) {
      // not-acceptable with the limit in the text, like the other
      // per-user storage limits (vCard, private XML).
      throw new StanzaError("modify", "not-acceptable", `A block list holds at most ${max} JIDs`);
    }
    await lists.add(user, added);
    // §3.3: the contact stops seeing the user as online, from each
    // available resource, but only a contact that was allowed to see it: a
    // stranger must not learn the user's resources this way.
    const resources = api.sessions.available(api.domain, user);
    const sent = new Set<string>();
    const goOffline = (from: string, to: string) => {
      if (sent.has(from + " " + to)) return;
      sent.add(from + " " + to);
      const presence = el("presence", { type: "unavailable", from, to });
      exempt.add(presence);
      api.send(presence);
    };
    for (const to of added) {
      if (resources.length === 0 || !await seesPresence(user, to)) continue;
      for (const s of resources) goOffline(s.fullJid!, to);
    }
    // Those the user's resources sent directed presence to (RFC 6121 §4.6)
    // saw them online too, subscribed or not (asked of the presence module).
    if (resources.length > 0) {
      const newly = new Set(added);
      const q: DirectedQuery = {
        owner: user,
        covers: (jid) => isBlocked(newly, jid),
        found: [],
      };
      await api.fire("presence/directed", q);
      for (const { from, to } of q.found) goOffline(from, to);
    }
    push(user, el("block", { xmlns: NS_BLOCKING }, ...itemsOf(jids)));
    api.replyResult(ev);
    return true;
  });

  api.hook(`iq-set/self/${NS_BLOCKING}:unblock`, async (ev: StanzaEvent) => {
    const user = ev.origin!.username!;
    const command = ev.stanza.firstElement()!;
    const jids = itemJids(command);
    const list = await lists.get(user);
    let removed: string[];
    if (jids.length === 0) {
      // §3.5: an empty unblock unblocks everyone.
      removed = [...list];
      await lists.clear(user);
    } else {
      removed = jids.filter((j) => list.has(j));
      await lists.remove(user, removed);
    }
    // §3.4: the contact gets the user's current presence again, but only
    // if allowed to see it.
    const resources = api.sessions.available(api.domain, user);
    for (const key of removed) {
      if (resources.length === 0 || !await seesPresence(user, key)) continue;
      const to = parseJid(key)!.bare;
      for (const s of resources) {
        if (s.presence === undefined) continue;
        api.send(s.presence.clone().setAttr("from", s.fullJid).setAttr("to", to));
      }
    }
    push(user, el("unblock", { xmlns: NS_BLOCKING }, ...itemsOf(jids)));
    api.replyResult(ev);
    return true;
  });
}
