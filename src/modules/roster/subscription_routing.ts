/**
 * Applying the subscription state machine: the outbound half (a local
 * user sends subscribe/subscribed/unsubscribe/unsubscribed: RFC 6121
 * §3.1.2, §3.1.5, §3.2.2, §3.3.2, §3.4) and the inbound half (one arrives
 * for a local user: §3.1.3, §3.1.6, §3.2.3, §3.3.3), and answering
 * presence probes (§4.3.2). The halves only meet through routed stanzas,
 * so a remote server can sit between them.
 */
import { Element } from "../../xml/element.ts";
import type { ModuleApi } from "../../core/module_api.ts";
import { StanzaError } from "../../core/errors.ts";
import type { Session } from "../../core/session.ts";
import type { Roster, RosterStore } from "./roster_store.ts";
import { inbound, outbound, sendsPresence, type SubscriptionType } from "./subscriptions.ts";
import { OncePerWindow } from "../../util/once_per_window.ts";

export class SubscriptionRouting {
  /** "Roster full" lines, at most one a minute per user. */
  readonly #fullLogged = new OncePerWindow();
  readonly #maxItems: number;

  constructor(readonly api: ModuleApi, readonly store: RosterStore) {
    this.#maxItems = api.config.roster.maxItems;
  }

  #bare(user: string): string {
    return user + "@" + this.api.domain;
  }

  /** A copy of `stanza` readdressed; children are shared (stanzas are immutable once routed). */
  static readdress(stanza: Element, from: string, to: string, type?: string): Element {
    const attrs: Record<string, string> = { ...stanza.attrs, from, to };
    if (type !== undefined) attrs.type = type;
    return new Element(stanza.name, attrs, stanza.children);
  }

  /** Presence from each of the user's available resources to `to` (or unavailable from each). */
  sendPresenceOf(user: string, to: string, unavailable: boolean): void {
    for (const s of this.api.sessions.available(this.api.domain, user)) {
      this.api.send(
        unavailable
          ? new Element("presence", { type: "unavailable", from: s.fullJid!, to })
          : SubscriptionRouting.readdress(s.presence!, s.fullJid!, to),
      );
    }
  }

  /** Outbound processing of a subscription stanza from a local user to `contact` (a bare JID). */
  async outbound(
    user: string,
    contact: string,
    type: SubscriptionType,
    stanza: Element,
  ): Promise<void> {
    const userBare = this.#bare(user);
    if (contact === userBare) return;
    const result = await this.store.run(user, async (roster) => {
      const r = outbound(type, roster.state(contact));
      // A request, approval or pre-approval that needs a new item obeys
      // the same limit as a roster set; nothing is routed.
      if (roster.createsItem(contact, r.state) && roster.items.size >= this.#maxItems) {
        throw new StanzaError("cancel", "resource-constraint", "The roster is full");
      }
      await this.store.commit(user, roster, contact, r.state);
      return r;
    });
    if (!result.route) return;
    // §3.1.2: the server stamps the user's bare JID and routes to the contact's bare JID.
    // Awaited: for a local contact that is the contact's roster change and
    // push (inbound below); only then does the user's presence follow, so
    // the contact's client sees the push before the presence it allows.
    // Why this also orders the user's *next* stanzas: see presenceModule.
    await this.api.send(SubscriptionRouting.readdress(stanza, userBare, contact));
    // §3.1.5: an approval is followed by the user's current presence;
    // §3.2.2: a cancellation by unavailable presence.
    if (type === "subscribed") this.sendPresenceOf(user, contact, false);
    else if (type === "unsubscribed") this.sendPresenceOf(user, contact, true);
  }

  /**
   * Inbound processing of a subscription stanza for local `user` from
   * `contact` (a bare JID). Stanzas for accounts that do not exist are
   * dropped (RFC 6121 §8.5.1).
   */
  async inbound(
    user: string,
    contact: string,
    type: SubscriptionType,
    stanza: Element,
  ): Promise<void> {
    const userBare = this.#bare(user);
    if (contact === userBare) return;
    const delivered = SubscriptionRouting.readdress(stanza, contact, userBare);
    // The contact's presence that follows this stanza (§3.1.5: an approval
    // is followed by the contact's presence) is routed only once this
    // returns: a local contact's server side awaits it (outbound above), a
    // remote one's arrives behind it in the router's per-sender order
    // (Router.fromPeer). So the client gets the roster push and this stanza
    // before the presence they allow. The roster queue (RosterStore.run)
    // is only for the read-modify-write of the roster.
    const result = await this.store.runIf(user, () => this.#exists(user), async (roster) => {
      const before = roster.state(contact);
      const r = inbound(type, before);
      if (r.state.pendingIn && !before.pendingIn && !roster.items.has(contact)) {
        // Every pending request is stored and re-sent at each login: a full
        // roster takes no more of them (see Roster.entries).
        if (roster.entries >= this.#maxItems) {
          // Once a minute per user: a stranger can send requests at will.
          const silent = this.#fullLogged.note(user);
          if (silent !== undefined) {
            this.api.log.info(
              "roster of {user} full: dropping the request of {contact} ({silent} more since)",
              { user, contact, silent },
            );
          }
          return { ...r, deliver: false, changed: false };
        }
      }
      const changed = await this.store.commit(user, roster, contact, r.state, delivered);
      // Delivered inside the queue, after the roster push it caused.
      if (r.deliver) this.toAvailable(user, delivered);
      return { ...r, changed };
    });
    if (!result) return;
    if (result.autoReplySubscribed) {
      // Awaited like an approval the user sends (outbound): the contact's
      // roster push before our presence.
      await this.api.send(
        new Element("presence", { type: "subscribed", from: userBare, to: contact }),
      );
      // A pre-approval just became a subscription: the contact gets our presence.
      if (result.changed) this.sendPresenceOf(user, contact, false);
    }
    // §3.3.3: a contact that unsubscribed no longer sees us.
    if (type === "unsubscribe" && result.deliver) this.sendPresenceOf(user, contact, true);
  }

  /** Write `stanza` to each available resource of local `user`. */
  toAvailable(user: string, stanza: Element): void {
    for (const s of this.api.sessions.available(this.api.domain, user)) s.send(stanza);
  }

  async #exists(user: string): Promise<boolean> {
    if (this.api.sessions.online(this.api.domain, user)) return true;
    return await this.api.auth.userExists(this.api.domain, user);
  }

  /**
   * §4.3.2: a probe for local `user` from `prober` (a bare JID) wanting
   * answers at `replyTo`. A subscriber gets the last presence of each
   * available resource (or unavailable); anyone else `unsubscribed`.
   */
  async probe(user: string, prober: string, replyTo: string): Promise<void> {
    const userBare = this.#bare(user);
    const roster = this.store.cached(user) ??
      (await this.#exists(user) ? await this.store.run(user, (r) => r) : undefined);
    const item = roster?.items.get(prober);
    if (!item || !sendsPresence(item.subscription)) {
      this.api.send(new Element("presence", { type: "unsubscribed", from: userBare, to: replyTo }));
      return;
    }
    const available = this.api.sessions.available(this.api.domain, user);
    for (const s of available) {
      this.api.send(SubscriptionRouting.readdress(s.presence!, s.fullJid!, replyTo));
    }
    if (available.length === 0) {
      this.api.send(new Element("presence", { type: "unavailable", from: userBare, to: replyTo }));
    }
  }

  /**
   * The local shortcut of a probe at login: `session` (just available)
   * gets the presence of `contact`'s available resources when `contact`
   * is online here and counts the user as a subscriber. Offline contacts
   * would only answer "unavailable", which a fresh session assumes; but
   * one whose account does not exist (never created, or deleted without
   * telling its contacts, as `parley deluser` does) answers `unsubscribed`
   * as a probe would (§4.3.2), which ends the user's stale subscription;
   * so does an online one whose roster does not count the user as a
   * subscriber (its roster is in memory: no cost).
   */
  answerLocalProbe(contact: string, session: Session): void {
    if (!this.api.sessions.online(this.api.domain, contact)) {
      this.api.auth.userExists(this.api.domain, contact).then((exists) => {
        if (exists) return;
        const to = session.bareJid!;
        this.api.send(
          new Element("presence", { type: "unsubscribed", from: this.#bare(contact), to }),
        );
      }).catch((err) => this.api.log.error("probe of {contact} failed: {err}", { contact, err }));
      return;
    }
    const roster = this.api.sessions.roster(this.api.domain, contact) as Roster | undefined;
    // Not loaded yet (the contact is binding): no answer rather than a wrong one.
    if (!roster) return;
    const item = roster.items.get(session.bareJid!);
    if (!item || !sendsPresence(item.subscription)) {
      // What a probe gets from a contact that does not count the user as
      // a subscriber (§4.3.2): it ends a one-sided subscription (a crash
      // between the two roster writes, an import) that would otherwise
      // never bring the contact's presence.
      this.api.send(
        new Element("presence", {
          type: "unsubscribed",
          from: this.#bare(contact),
          to: session.bareJid!,
        }),
      );
      return;
    }
    // Routed, not written to the session: the recipient-side hooks
    // (blocking, privacy) see these like any other presence.
    for (const s of this.api.sessions.available(this.api.domain, contact)) {
      this.api.send(SubscriptionRouting.readdress(s.presence!, s.fullJid!, session.fullJid!));
    }
  }
}
