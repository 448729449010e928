/**
 * Presence (RFC 6121 §3, §4): subscriptions through the state machine,
 * initial presence with probes and broadcast, updates, unavailable on
 * logout or connection loss, directed presence, probes from contacts.
 *
 * It takes `presence/self` over from the core default (and still emits
 * `presence/initial` / `presence/updated` after the broadcast, for offline
 * delivery: see presenceApplied), and hooks
 * the sender side (`pre-presence/*`: outbound processing) and the
 * recipient side (`presence/bare|full`: inbound processing) separately.
 */
import { Element } from "../../xml/element.ts";
import { parseJid } from "../../jid.ts";
import { el } from "../../xml/element.ts";
import type { ParleyModule } from "../../core/module_api.ts";
import type { BlockQuery, DirectedQuery } from "../../core/presence_queries.ts";
import type { StanzaEvent } from "../../core/router.ts";
import type { Session } from "../../core/session.ts";
import { parsePriority, presenceApplied, toOwnResources } from "../../core/delivery.ts";
import { StanzaError } from "../../core/errors.ts";
import { type Roster, rosterStore } from "./roster_store.ts";
import { SubscriptionRouting } from "./subscription_routing.ts";
import {
  receivesPresence,
  sendsPresence,
  SUBSCRIPTION_TYPES,
  type SubscriptionType,
} from "./subscriptions.ts";

const NS_PREAPPROVAL = "urn:xmpp:features:pre-approval";

export const presenceModule: ParleyModule = {
  name: "presence",
  setup(api) {
    const store = rosterStore(api);
    const subs = new SubscriptionRouting(api, store);
    /** Where each resource sent directed available presence (RFC 6121 §4.6). */
    const directed = new WeakMap<Session, Set<string>>();
    /**
     * Addresses one resource's directed presence may stand at: each is owed
     * unavailable presence at logout, so a client sending directed presence
     * to ever new addresses grew the set (and that final burst) without
     * end. As many as a roster may hold: rooms joined and peers told, well
     * beyond what a real client keeps.
     */
    const maxDirected = api.config.roster.maxItems;

    api.addStreamFeature((session) =>
      session.type === "c2s" ? el("sub", { xmlns: NS_PREAPPROVAL }) : undefined
    );

    // Other modules (blocking) ask where `owner`'s resources sent directed
    // presence that is still standing, among the addresses `covers` accepts.
    api.hook("presence/directed", (q: DirectedQuery) => {
      for (const s of api.sessions.resources(api.domain, q.owner)) {
        for (const to of directed.get(s) ?? []) {
          const jid = parseJid(to);
          if (jid && q.covers(jid)) q.found.push({ from: s.fullJid!, to });
        }
      }
      return true;
    });

    const rosterOf = (session: Session): Roster | Promise<Roster> =>
      (session.roster as Roster | undefined) ?? store.run(session.username!, (r) => r);

    // ---- sender side: outbound processing ---------------------------------

    const outboundPresence = (ev: StanzaEvent) => {
      const origin = ev.origin;
      const to = ev.to;
      if (!origin || !to) return false;
      const type = ev.stanza.attrs.type;
      if (type !== undefined && SUBSCRIPTION_TYPES.has(type)) {
        // §3: subscription stanzas are about bare JIDs whatever the client wrote.
        if (to.local === undefined && to.domain === api.domain) return true;
        return subs.outbound(origin.username!, to.bare, type as SubscriptionType, ev.stanza)
          .then(() => true);
      }
      if (to.bare === origin.bareJid) return false;
      if (type === undefined) {
        let set = directed.get(origin);
        if (!set) directed.set(origin, set = new Set());
        if (set.size >= maxDirected && !set.has(to.full)) {
          throw new StanzaError(
            "wait",
            "resource-constraint",
            `Directed presence stands at ${maxDirected} addresses already`,
          );
        }
        set.add(to.full);
      } else if (type === "unavailable") {
        directed.get(origin)?.delete(to.full);
      }
      return false;
    };
    for (const toType of ["bare", "full", "host", "remote"]) {
      api.hook("pre-presence/" + toType, outboundPresence);
    }

    // ---- recipient side: inbound processing -------------------------------

    const inboundPresence = (ev: StanzaEvent) => {
      const to = ev.to!;
      const user = to.local!;
      const stanza = ev.stanza;
      const type = stanza.attrs.type;
      const from = stanza.attrs.from === undefined ? undefined : parseJid(stanza.attrs.from);
      if (type !== undefined && SUBSCRIPTION_TYPES.has(type)) {
        // §3.1.3 and friends: to a full JID counts as to the bare JID.
        if (!from) return true;
        return subs.inbound(user, from.bare, type as SubscriptionType, stanza).then(() => true);
      }
      if (type === "probe") {
        if (!from) return true;
        return subs.probe(user, from.bare, from.full).then(() => true);
      }
      if (type === "error") {
        // An error to a full JID answers that resource. One to the bare JID
        // answers what the server sent from it, e.g. a subscription request
        // (§3.1.2: the user's server MUST deliver such an error to the
        // user): every available resource gets it, as Prosody does.
        if (to.resource !== undefined) api.sessions.full(to.full, api.domain)?.send(stanza);
        else subs.toAvailable(user, stanza);
        return true;
      }
      // Available/unavailable: the core delivers it. No waiting for the
      // user's roster here: whatever roster change a contact's earlier
      // stanza caused is done (and pushed) already, because
      // - a local contact's stream handles its next stanza only once the
      //   previous one's handling settled (c2s in-order processing: the
      //   stream awaits router.fromClient), and that handling awaited the
      //   routed subscription stanza's inbound side, roster push included
      //   (SubscriptionRouting.outbound awaits api.send); pushes and
      //   presence are written to this user's sessions in that order;
      // - a remote contact's stanzas are handled in order per sender
      //   (Router.fromPeer), and its server sends the presence after the
      //   subscription stanza.
      return type !== undefined && type !== "unavailable";
    };
    api.hook("presence/bare", inboundPresence);
    api.hook("presence/full", inboundPresence);

    // ---- the user's own presence ------------------------------------------

    /** To every contact with a from/both subscription; returns their bare JIDs. */
    const toSubscribers = (roster: Roster, stanza: Element, from: string): Set<string> => {
      const sent = new Set<string>();
      for (const item of roster.items.values()) {
        if (!sendsPresence(item.subscription)) continue;
        api.send(SubscriptionRouting.readdress(stanza, from, item.jid));
        sent.add(item.jid);
      }
      return sent;
    };

    const initialPresence = (origin: Session, roster: Roster) => {
      const userBare = origin.bareJid!;
      // §4.2.2: the new resource learns about the user's other resources…
      for (const s of api.sessions.resources(api.domain, origin.username!)) {
        if (s !== origin && s.presence) origin.send(s.presence);
      }
      // …and §4.3.1: about its contacts: probes, answered here for local ones.
      for (const item of roster.items.values()) {
        if (!receivesPresence(item.subscription)) continue;
        const jid = parseJid(item.jid);
        if (jid?.local !== undefined && jid.domain === api.domain) {
          subs.answerLocalProbe(jid.local, origin);
        } else {
          api.send(el("presence", { type: "probe", from: userBare, to: item.jid }));
        }
      }
      // §3.1.3: subscription requests still waiting for an answer.
      redeliverPending(origin, [...roster.pending]).catch((err) =>
        api.log.error("re-delivering subscription requests failed: {err}", { err })
      );
    };

    /**
     * Stored requests are written to the session, not routed (routing would
     * run them through the state machine again), so the blocking module is
     * asked here: nothing from a blocked contact is delivered (XEP-0191 §3.3).
     * The request stays stored, for a login after an unblock.
     */
    const redeliverPending = async (origin: Session, pending: [string, Element][]) => {
      for (const [contact, request] of pending) {
        const q: BlockQuery = { owner: origin.username!, jid: contact };
        await api.fire("blocking/is-blocked", q);
        if (q.blocked || origin.destroyed) continue;
        origin.send(request);
      }
    };

    const selfPresence = (ev: StanzaEvent) => {
      const origin = ev.origin;
      if (!origin) return true;
      const stanza = ev.stanza;
      const type = stanza.attrs.type;
      if (type !== undefined && type !== "unavailable") return true;
      const from = origin.fullJid!;
      // Everything that reads session state happens now: on connection loss
      // the registry forgets this session right after this event.
      const wasAvailable = origin.presence !== undefined;
      const previousPriority = origin.priority;
      let directedTo: Set<string> | undefined;
      if (type === undefined) {
        origin.priority = parsePriority(stanza);
        origin.presence = stanza;
      } else {
        origin.presence = undefined;
        directedTo = directed.get(origin);
        directed.delete(origin);
      }
      toOwnResources(api.sessions, api.domain, origin, stanza);
      const finish = (roster: Roster) => {
        if (type === undefined) {
          toSubscribers(roster, stanza, from);
          if (!wasAvailable && !origin.destroyed) initialPresence(origin, roster);
          // After the broadcast: offline messages and the like follow it (XEP-0160).
          if (!origin.destroyed) presenceApplied(api.host, origin, !wasAvailable, previousPriority);
          return true;
        }
        const sent = wasAvailable ? toSubscribers(roster, stanza, from) : new Set<string>();
        for (const jid of directedTo ?? []) {
          const target = parseJid(jid);
          if (target && sent.has(target.bare)) continue;
          api.send(SubscriptionRouting.readdress(stanza, from, jid));
        }
        return true;
      };
      const roster = rosterOf(origin);
      return roster instanceof Promise ? roster.then(finish) : finish(roster);
    };
    api.hook("presence/self", selfPresence);

    // A session that ends without unavailable presence (it never sent any)
    // still owes it to whoever got its directed presence.
    api.hook("resource-unbind", ({ session }) => {
      const set = directed.get(session);
      if (!set) return;
      directed.delete(session);
      for (const jid of set) {
        api.send(new Element("presence", { type: "unavailable", from: session.fullJid!, to: jid }));
      }
    });
  },
};
