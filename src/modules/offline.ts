/**
 * Offline messages (XEP-0160), delivered with a delay stamp (XEP-0203).
 *
 * Core delivery fires `message/offline` when a message for a local
 * account finds no available resource with non-negative priority. We
 * store chat and normal messages worth keeping for accounts that exist,
 * up to `offline.maxMessages` and `offline.maxBytes` (their serialized
 * stanzas) each, `offline.maxMessagesPerSender` and
 * `offline.maxBytesPerSender` of them from one sender, and
 * `offline.maxPercentPerOtherDomain` percent of the box from all senders
 * at one domain not served here; over that the sender gets service-unavailable (XEP-0160 §2 step 3). At the next available
 * presence with non-negative priority (XEP-0160 §2 step 5) the stored
 * messages go to that resource, oldest first, and only those actually
 * sent are deleted.
 *
 * With the message archive: before a replay this module fires
 * `offline/replay` (OfflineReplayEvent); the archive module answers with
 * `skipArchivedBefore` when the session fetched history from the archive
 * before its initial presence. Stored messages the archive kept before
 * that time (they carry the user's XEP-0359 `<stanza-id/>`) are then
 * deleted without being sent: the client already has them, and must not
 * see them twice. Everything else is replayed. docs/archive.md has the rule.
 *
 * With blocking (XEP-0191): a stored message whose sender the user has
 * blocked since is deleted at replay, not sent (`blocking/is-blocked`).
 */
import { el, type Element, serialize } from "../xml/element.ts";
import { NS } from "../xml/namespaces.ts";
import { parseElement } from "../util/xml_fragment.ts";
import { KeyedQueue } from "../util/keyed_queue.ts";
import {
  domainOf,
  OfflineUsage,
  type RemovedItem,
  storedBytes,
  storedStanza,
  tallyOf,
} from "./offline_usage.ts";
import { hostConfigs, serviceHostConfigs } from "../config/schema.ts";
import { parseJid } from "../jid.ts";
import { StanzaError } from "../core/errors.ts";
import { messageType, type PresenceUpdatedEvent } from "../core/delivery.ts";
import type { ParleyModule } from "../core/module_api.ts";
import type { StanzaEvent } from "../core/router.ts";
import type { Session } from "../core/session.ts";
import type { SessionEvent } from "../core/sessions.ts";
import type { BlockQuery } from "../core/presence_queries.ts";

const HINTS = "urn:xmpp:hints";
const CHATSTATES = "http://jabber.org/protocol/chatstates";
const SID = "urn:xmpp:sid:0";
/** A message archive query's result: a copy for one query, never stored. */
const MAM = "urn:xmpp:mam:2";

/**
 * Fired (awaited) on the host as `offline/replay` before stored messages
 * are replayed to `session`; a handler (the archive) may set
 * `skipArchivedBefore`: messages archived (XEP-0359 `<stanza-id/>` by the
 * user) and stored before that time (ms) are deleted instead of sent.
 */
export interface OfflineReplayEvent {
  session: Session;
  skipArchivedBefore?: number;
}

/** Whether the message carries a `<stanza-id/>` by the user's archive (`bare`). */
export function archivedBy(message: Element, bare: string): boolean {
  for (const c of message.children) {
    if (
      typeof c !== "string" && c.name === "stanza-id" && c.attrs.xmlns === SID &&
      c.attrs.by === bare
    ) {
      return true;
    }
  }
  return false;
}

/**
 * Whether a chat/normal message is kept for later. XEP-0334 hints decide
 * first (`no-store` wins); otherwise anything carrying a payload is kept,
 * but not chat-state notifications alone (XEP-0160 §3: stale by the time
 * they would arrive), nor a bare `<thread/>`.
 */
export function storeDecision(message: Element): "store" | "refuse" | "drop" {
  if (message.getChild("no-store", HINTS)) return "refuse";
  if (message.getChild("store", HINTS)) return "store";
  // Copies of archived messages for one query (left unacknowledged by a session that ended).
  if (message.getChild("result", MAM)) return "drop";
  for (const c of message.children) {
    if (typeof c === "string") continue;
    const ns = c.attrs.xmlns;
    if (ns === CHATSTATES || ns === HINTS) continue;
    if (ns === undefined && c.name === "thread") continue;
    if (ns === undefined && c.name === "error") continue;
    return "store";
  }
  return "drop";
}

/** XEP-0082 DateTime in UTC, with the Z the XEP-0203 `stamp` requires. */
export function utcStamp(ms: number): string {
  return new Date(ms).toISOString();
}

export const offlineModule: ParleyModule = {
  name: "offline",
  setup(api) {
    const archive = api.archive("offline");
    const {
      maxMessages: max,
      maxMessagesPerSender: maxPerSender,
      maxBytes,
      maxBytesPerSender,
      maxPercentPerOtherDomain: percent,
    } = api.config.offline;
    // What all senders at one domain not served here may hold together.
    const maxPerDomain = Math.floor(max * percent / 100);
    const maxBytesPerDomain = Math.floor(maxBytes * percent / 100);
    // Service hosts (conference.<domain>…) are this server's too: their rooms are no stranger.
    // Worked out again after a reload (it replaces `hosts`): a host added there is ours, a
    // removed one is a stranger again.
    let own: { hosts: unknown; domains: Set<string> } | undefined;
    const ownDomains = () => {
      if (own?.hosts !== api.config.hosts) {
        own = {
          hosts: api.config.hosts,
          domains: new Set(
            [...hostConfigs(api.config), ...serviceHostConfigs(api.config)].map((h) => h.domain),
          ),
        };
      }
      return own.domains;
    };
    // Per-user totals (messages and bytes, per sender and per domain), kept as
    // messages come and go instead of read from storage for each new message.
    const usage = new OfflineUsage(archive);
    api.addFeature("msgoffline");

    // Storage work for one user runs one job after another: the count check
    // holds, messages keep the order they came in, and two resources coming
    // online at once cannot both receive (and delete) the same messages.
    const queue = new KeyedQueue();

    api.hook("message/offline", async (ev: StanzaEvent) => {
      const stanza = ev.stanza;
      const type = messageType(stanza);
      if (type !== "chat" && type !== "normal") return false;
      const decision = storeDecision(stanza);
      // Not stored: RFC 6121 §8.5.2.2.1 wants the sender told (the core
      // bounces service-unavailable for unhandled events).
      if (decision === "refuse") return false;
      const user = ev.to?.local ?? ev.origin?.username;
      if (user === undefined) return false;
      const when = Date.now();
      const from = parseJid(stanza.attrs.from ?? "")?.bare;
      return await queue.run(user, () => store(ev, user, decision, when, from)).catch((err) => {
        // The message is not kept: the sender must hear so (RFC 6121
        // §8.5.2.2.1), not have it vanish into a log line.
        api.log.error("storing an offline message for {user} failed: {err}", { user, err });
        api.replyError(
          ev,
          new StanzaError("wait", "internal-server-error", "Offline storage failed"),
        );
        return true;
      });
    });

    /** Keeps one message within the box's limits; false when the account does not exist. */
    const store = async (
      ev: StanzaEvent,
      user: string,
      decision: ReturnType<typeof storeDecision>,
      when: number,
      from: string | undefined,
    ): Promise<boolean> => {
      const stanza = ev.stanza;
      if (!(await api.auth.userExists(api.domain, user))) return false;
      // Typing notifications and empty messages: nothing worth an error either.
      if (decision === "drop") return true;
      const full = () => {
        api.replyError(
          ev,
          new StanzaError("cancel", "service-unavailable", "Offline storage full"),
        );
        return true;
      };
      const count = await archive.count(user);
      if (count >= max) return full();
      // Bytes as well as messages: each may be up to c2s.maxStanzaSize, and a
      // count limit alone let one box grow to hundreds of MB.
      const text = serialize(stanza);
      const bytes = storedBytes(text);
      const before = await usage.get(user, count);
      if (before.bytes + bytes > maxBytes) return full();
      if (from !== undefined) {
        // One sender gets a share of the box, not all of it: else a flood from one
        // user bounces every other sender's messages until the owner comes back.
        const sender = tallyOf(before.bySender, from);
        if (sender.count >= maxPerSender || sender.bytes + bytes > maxBytesPerSender) {
          return full();
        }
        // A remote server (or a component) may send as any user of its domain:
        // made-up senders, each within its share, must not fill the box either.
        const domain = domainOf(from);
        const others = tallyOf(before.byDomain, domain);
        if (
          !ownDomains().has(domain) &&
          (others.count >= maxPerDomain || others.bytes + bytes > maxBytesPerDomain)
        ) {
          return full();
        }
      }
      await archive.append(user, { when, with: from, value: { stanza: text } });
      usage.added(user, from, bytes);
      return true;
    };

    /**
     * Whether `user` blocks the sender of a stored message. Replayed
     * messages are written to the session, not routed, so the blocking
     * module's filters do not see them: it is asked here, as the presence
     * module asks for stored subscription requests.
     */
    const blocked = async (user: string, stanza: Element): Promise<boolean> => {
      const from = stanza.attrs.from;
      if (from === undefined) return false;
      const q: BlockQuery = { owner: user, jid: from };
      await api.fire("blocking/is-blocked", q);
      return q.blocked === true;
    };

    const deliver = (session: Session): Promise<void> =>
      queue.run(session.username!, async () => {
        const user = session.username!;
        const replay: OfflineReplayEvent = { session };
        await api.fire("offline/replay", replay);
        const skipBefore = replay.skipArchivedBefore;
        const items = await archive.find(user);
        const sent: string[] = [];
        const sentItems: RemovedItem[] = [];
        for (const item of items) {
          // The session may have ended (or gone unavailable) while storage answered.
          // A client reading slower than storage answers must not overflow its output mark.
          await session.writable();
          if (session.destroyed || !session.presence || session.priority < 0) break;
          const text = storedStanza(item);
          const stanza = parseElement(text);
          if (
            stanza && skipBefore !== undefined && item.when < skipBefore &&
            archivedBy(stanza, session.bareJid!)
          ) {
            // Fetched from the archive already: deleted below, not sent.
          } else if (stanza && await blocked(user, stanza)) {
            // Its sender was blocked since it came: nothing from a blocked JID
            // is delivered (XEP-0191 §3.3), and it is not kept to surface
            // after an unblock: deleted below, as it would have been bounced.
          } else if (stanza) {
            stanza.append(
              el(
                "delay",
                { xmlns: NS.delay, from: api.domain, stamp: utcStamp(item.when) },
                "Offline Storage",
              ),
            );
            session.send(stanza);
          } else {
            api.log.warn("dropping an unreadable offline message for {user}", { user });
          }
          sent.push(item.id);
          sentItems.push({ with: item.with, bytes: storedBytes(text) });
        }
        if (sent.length > 0) {
          const deleted = await archive.delete(user, { ids: sent });
          usage.removed(user, sentItems, deleted);
        }
      });

    const deliverLater = (session: Session) =>
      void deliver(session).catch((err) =>
        api.log.error("offline delivery to {jid} failed: {err}", { jid: session.fullJid, err })
      );

    // Both fire once the presence is applied and broadcast (delivery.ts
    // presenceApplied), so the stored messages follow the presence and the
    // priority they are checked against is the new one. Not awaited: other
    // handlers need not wait for storage.
    api.hook("presence/initial", (ev: SessionEvent) => {
      if (ev.session.priority >= 0) deliverLater(ev.session);
    });
    // A resource that was available with a negative priority and now sends
    // a non-negative one "next sends non-negative available presence"
    // (XEP-0160 §2 step 5) too.
    api.hook("presence/updated", (ev: PresenceUpdatedEvent) => {
      if (ev.previousPriority < 0 && ev.session.priority >= 0) deliverLater(ev.session);
    });
  },
};
