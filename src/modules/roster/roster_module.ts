/**
 * Roster management (RFC 6121 §2): get with versioning (§2.6, XEP-0237),
 * set (add or update name and groups), remove with its subscription side
 * effects (§2.5.2), pushes to every interested resource.
 */
import { Element } from "../../xml/element.ts";
import { el } from "../../xml/element.ts";
import { parseJid } from "../../jid.ts";
import { StanzaError } from "../../core/errors.ts";
import type { ParleyModule } from "../../core/module_api.ts";
import type { SubscriptionQuery } from "../../core/subscription.ts";
import type { StanzaEvent } from "../../core/router.ts";
import {
  itemBytes,
  itemElement,
  MAX_ROSTER_ITEM_BYTES,
  NS_ROSTER,
  type Roster,
  rosterStore,
} from "./roster_store.ts";
import { SubscriptionRouting } from "./subscription_routing.ts";
import { receivesPresence, sendsPresence } from "./subscriptions.ts";

const NS_ROSTERVER = "urn:xmpp:features:rosterver";
/** Longest name or group we keep (RFC 6121 §2.3.3 lets the server set one). */
const MAX_TEXT = 1023;

export const rosterModule: ParleyModule = {
  name: "roster",
  setup(api) {
    const store = rosterStore(api);
    const subs = new SubscriptionRouting(api, store);
    const maxItems = api.config.roster.maxItems;

    api.addStreamFeature((session) =>
      session.type === "c2s" ? el("ver", { xmlns: NS_ROSTERVER }) : undefined
    );

    api.hook(`iq-get/self/${NS_ROSTER}:query`, (ev: StanzaEvent) => {
      const origin = ev.origin;
      if (!origin) return false;
      // §2.1.6: from now on this resource receives roster pushes.
      origin.interested = true;
      const ver = ev.stanza.firstElement()!.attrs.ver;
      return store.run(origin.username!, (roster) => {
        // §2.6.3: an unchanged roster is an empty result; a changed one is
        // sent whole (allowed instead of a push per change).
        if (ver !== undefined && ver === roster.ver) api.replyResult(ev);
        else {
          api.replyResult(
            ev,
            el(
              "query",
              { xmlns: NS_ROSTER, ver: roster.ver },
              ...[...roster.items.values()].map(itemElement),
            ),
          );
        }
        return true;
      });
    });

    api.hook(`iq-set/self/${NS_ROSTER}:query`, (ev: StanzaEvent) => {
      const origin = ev.origin;
      if (!origin) return false;
      const user = origin.username!;
      const items = ev.stanza.firstElement()!.getChildren("item");
      if (items.length !== 1) {
        throw new StanzaError("modify", "bad-request", "A roster set carries exactly one item");
      }
      const item = items[0];
      if (item.attrs.jid === undefined) throw new StanzaError("modify", "bad-request", "No jid");
      const jid = parseJid(item.attrs.jid);
      if (!jid) throw new StanzaError("modify", "jid-malformed", "Invalid jid");
      if (jid.resource !== undefined || jid.bare === origin.bareJid) {
        throw new StanzaError("cancel", "not-allowed", "Not a contact address");
      }
      const contact = jid.bare;
      if (item.attrs.subscription === "remove") {
        return store.run(user, (roster) => remove(ev, user, roster, contact));
      }
      // The client's subscription and ask attributes are ignored (§2.1.2.5, §2.1.2.1).
      const name = item.attrs.name;
      const groups = item.getChildren("group").map((g) => g.text());
      if (new Set(groups).size !== groups.length) {
        throw new StanzaError("modify", "bad-request", "Duplicate group");
      }
      if (groups.some((g) => g.length === 0 || g.length > MAX_TEXT)) {
        throw new StanzaError("modify", "not-acceptable", "Empty or too long group name");
      }
      if (name !== undefined && name.length > MAX_TEXT) {
        throw new StanzaError("modify", "not-acceptable", "Name too long");
      }
      return store.run(user, async (roster) => {
        let entry = roster.items.get(contact);
        const grown = itemBytes(contact, name, groups) -
          (entry ? itemBytes(entry.jid, entry.name, entry.groups) : 0);
        if (grown > 0 && roster.itemBytes + grown > MAX_ROSTER_ITEM_BYTES) {
          throw new StanzaError(
            "cancel",
            "resource-constraint",
            "The roster's names and groups take too much space",
          );
        }
        if (!entry) {
          if (roster.items.size >= maxItems) {
            throw new StanzaError("cancel", "resource-constraint", "The roster is full");
          }
          entry = { jid: contact, groups: [], subscription: "none", ask: false, approved: false };
          roster.items.set(contact, entry);
        }
        entry.name = name === "" ? undefined : name;
        entry.groups = groups;
        await store.save(user, roster);
        api.replyResult(ev);
        store.push(user, roster, itemElement(entry));
        return true;
      });
    });

    /** §2.5.2: removing a contact also ends the subscriptions both ways. */
    const remove = async (ev: StanzaEvent, user: string, roster: Roster, contact: string) => {
      const entry = roster.items.get(contact);
      const pendingIn = roster.pending.has(contact);
      if (!entry && !pendingIn) throw new StanzaError("cancel", "item-not-found");
      roster.items.delete(contact);
      roster.pending.delete(contact);
      await store.save(user, roster);
      api.replyResult(ev);
      store.push(user, roster, el("item", { jid: contact, subscription: "remove" }));
      const userBare = ev.origin!.bareJid!;
      if (entry && (receivesPresence(entry.subscription) || entry.ask)) {
        api.send(new Element("presence", { type: "unsubscribe", from: userBare, to: contact }));
      }
      if (pendingIn || (entry && sendsPresence(entry.subscription))) {
        if (entry && sendsPresence(entry.subscription)) subs.sendPresenceOf(user, contact, true);
        api.send(new Element("presence", { type: "unsubscribed", from: userBare, to: contact }));
      }
      return true;
    };

    // A removed account ends every subscription it took part in, as if it
    // had removed each contact (RFC 6121 §2.5.2; XEP-0077 §3.2), so
    // contacts' rosters and presence stop pointing at it.
    api.hook(
      "user-deleting",
      ({ username }: { username: string }) =>
        store.run(username, (roster) => {
          const from = username + "@" + api.domain;
          for (const contact of new Set([...roster.items.keys(), ...roster.pending.keys()])) {
            const state = roster.state(contact);
            if (receivesPresence(state.subscription) || state.pendingOut) {
              api.send(new Element("presence", { type: "unsubscribe", from, to: contact }));
            }
            if (sendsPresence(state.subscription) || state.pendingIn) {
              api.send(new Element("presence", { type: "unsubscribed", from, to: contact }));
            }
          }
        }),
    );

    // Other modules (disco, last activity, blocking) ask who may see what:
    // `{ owner, contact, subscription? }`, filled from the live roster.
    api.hook("roster/get-subscription", (q: SubscriptionQuery) => {
      const fill = (roster: Roster) => {
        q.subscription = roster.items.get(q.contact)?.subscription ?? "none";
        return true;
      };
      const cached = store.cached(q.owner);
      return cached ? fill(cached) : store.run(q.owner, fill);
    });

    // §2.1.5 / §2.3.3: only the account itself reads or changes its roster.
    const forbidden = () => {
      throw new StanzaError("auth", "forbidden");
    };
    api.hook(`iq-get/bare/${NS_ROSTER}:query`, forbidden);
    api.hook(`iq-set/bare/${NS_ROSTER}:query`, forbidden);
  },
};
