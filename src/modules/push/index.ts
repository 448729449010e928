/**
 * Push notifications (XEP-0357, urn:xmpp:push:0). A client registers an
 * app server and node (`<enable/>`, with publish-options such as a
 * secret) and removes it (`<disable/>`). When a message worth it
 * (worthy.ts) arrives and none of the user's clients is connected and
 * available — every one hibernates (stream management) or there is none —
 * each registration gets a notification over normal routing (a local
 * component or s2s). A session that goes into hibernation with messages
 * its client never acknowledged notifies too. Never while a client of the
 * user is active.
 *
 * Hooks (see the shared priorities): `message/bare` and `message/full` at
 * 7 (and at 4, past carbons), `message/offline` at 20; none ever stops the event. A message is
 * notified once, whatever path it takes afterwards (a hibernation that
 * expires hands its messages to offline storage: no second notification).
 */
import type { ParleyModule } from "../../core/module_api.ts";
import type { StanzaEvent } from "../../core/router.ts";
import type { Session } from "../../core/session.ts";
import { messageType } from "../../core/delivery.ts";
import type { Element } from "../../xml/element.ts";
import { NS_PUSH, parseDisable, parseEnable } from "./protocol.ts";
import { Registrations } from "./registrations.ts";
import { Notifier } from "./notifier.ts";
import { pushWorthy } from "./worthy.ts";

export const pushModule: ParleyModule = {
  name: "push",
  setup(api) {
    const config = api.config.push;
    const registrations = new Registrations(api.map("push"), config.maxRegistrations);
    const domain = api.domain;
    /** A client of the user is connected (not hibernating) and available. */
    const active = (user: string) =>
      api.sessions.resources(domain, user).some((s) =>
        !s.hibernating && !s.destroyed && s.presence !== undefined
      );
    const notifier = new Notifier(
      api,
      registrations,
      config.minIntervalSeconds * 1000,
      config.allowBody,
      active,
    );
    /** Messages already notified: the same object may come by again (offline after hibernation). */
    const notified = new WeakSet<Element>();
    /** Events whose message was notified at 7, for the hook at 4 (below). */
    const notifiedEvents = new WeakSet<StanzaEvent>();

    api.addAccountFeature(NS_PUSH);

    api.handleIq({ type: "set", xmlns: NS_PUSH, name: "enable", to: "self" }, async (ev) => {
      const reg = parseEnable(ev.stanza.firstElement()!);
      await registrations.enable(ev.origin!.username!, reg);
      return api.EMPTY_RESULT;
    });
    api.handleIq({ type: "set", xmlns: NS_PUSH, name: "disable", to: "self" }, async (ev) => {
      const { jid, node } = parseDisable(ev.stanza.firstElement()!);
      await registrations.disable(ev.origin!.username!, jid, node);
      return api.EMPTY_RESULT;
    });

    /** `messages` reached no active client of `user`: notify, once each. */
    const away = (user: string, messages: Element[]) => {
      const fresh = messages.filter((m) => !notified.has(m));
      for (const m of fresh) notified.add(m);
      notifier.add(user, fresh);
    };

    /**
     * A message to the bare JID goes to the top-priority available
     * resources; when those all hibernate it waits in their outboxes.
     * None at all: `message/offline` follows and decides.
     */
    const toBare = (ev: StanzaEvent, user: string) => {
      // Active first: the common case, and it needs no list of targets.
      if (active(user)) return notifier.reset(user);
      if (api.sessions.bareTargets(domain, user).length === 0) return;
      away(user, [ev.stanza]);
      notifiedEvents.add(ev);
    };

    api.hook("message/bare", (ev: StanzaEvent) => {
      const user = ev.to!.local!;
      if (pushWorthy(ev.stanza, false)) toBare(ev, user);
      return false;
    }, 7);

    api.hook("message/full", (ev: StanzaEvent) => {
      const user = ev.to!.local!;
      const stanza = ev.stanza;
      const target = api.sessions.full(ev.to!.full, domain);
      if (!target) {
        // Delivery treats a chat to a resource that is gone as sent to the bare JID.
        if (messageType(stanza) === "chat" && pushWorthy(stanza, false)) toBare(ev, user);
        return false;
      }
      if (!pushWorthy(stanza, true)) return false;
      if (active(user)) notifier.reset(user);
      else if (target.hibernating) {
        away(user, [stanza]);
        notifiedEvents.add(ev);
      }
      return false;
    }, 7);

    // Past carbons (5), which delivers a cleaned copy of a message that had
    // <private/> or forged wrappers: the copy is what waits in the outbox
    // and goes offline when the hibernation ends, and it is the same
    // message, notified already.
    const copyNotified = (ev: StanzaEvent) => {
      if (notifiedEvents.has(ev)) notified.add(ev.stanza);
      return false;
    };
    api.hook("message/bare", copyNotified, 4);
    api.hook("message/full", copyNotified, 4);

    api.hook("message/offline", (ev: StanzaEvent) => {
      const user = ev.to?.local;
      if (
        user !== undefined && pushWorthy(ev.stanza, ev.to!.resource !== undefined) &&
        !active(user)
      ) away(user, [ev.stanza]);
      return false;
    }, 20);

    // Above stream management (0), which keeps the session and stops the
    // event: whether it hibernates is known once the event is over.
    api.hook("session-disconnected", ({ session }) => {
      queueMicrotask(() => hibernated(session));
      return false;
    }, 5);
    const hibernated = (session: Session) => {
      const user = session.username;
      if (!session.hibernating || session.destroyed || user === undefined || active(user)) return;
      const unacked = session.outbox.unacked.filter((m) =>
        m.name === "message" && pushWorthy(m, m.attrs.to?.includes("/") === true)
      );
      away(user, unacked);
    };

    api.hook("resource-bind", ({ session }) => {
      notifier.reset(session.username!);
    });
    api.hook("user-deleted", ({ username }) => {
      notifier.reset(username);
    });
  },
};
