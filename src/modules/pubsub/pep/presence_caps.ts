/**
 * Entity caps from presence (XEP-0115 for XEP-0163 §4.2): every available
 * presence an account's resource sends, or one of its contacts sends to
 * it, says through `<c/>` which nodes that resource wants notifications
 * of. Unknown caps are asked once (disco#info from the host) and cached.
 * A resource that becomes available, or announces other caps, gets the
 * last item of each node it wants (§4.3.2).
 */
import type { ModuleApi } from "../../../core/module_api.ts";
import type { StanzaEvent } from "../../../core/router.ts";
import type { SessionEvent } from "../../../core/sessions.ts";
import type { UserDeletedEvent } from "../../../core/accounts.ts";
import { parseJid } from "../../../jid.ts";
import { el, type Element } from "../../../xml/element.ts";
import { NS } from "../../../xml/namespaces.ts";
import { CapsCache, type Features, NS_CAPS } from "./caps_cache.ts";
import type { PepService } from "./service.ts";
import { KeyedQueue } from "../../../util/keyed_queue.ts";
import { subscriptionOf } from "../../../core/subscription.ts";

const NONE: Features = new Set();

export function installPresenceCaps(api: ModuleApi, pep: PepService): CapsCache {
  const { capsCacheSize, maxPendingCapsQueries, capsQueryTimeoutMs } = api.config.pep;
  const caps = new CapsCache({
    maxEntries: capsCacheSize,
    maxPending: maxPendingCapsQueries,
    // From the host, as the answer is shared by every account of it.
    query: (jid, node) =>
      api.sendIq(el("iq", { type: "get", to: jid }, el("query", { xmlns: NS.discoInfo, node })), {
        timeoutMs: capsQueryTimeoutMs,
      }),
  });

  /** Track `full`'s presence for `owner`; send last items when its interest is new. */
  const seen = (owner: string, full: string, presence: Element) => {
    const bare = parseJid(full)?.bare;
    if (!bare) return;
    if (presence.attrs.type === "unavailable") {
      pep.interest.delete(owner, full);
      return;
    }
    if (presence.attrs.type !== undefined) return;
    const c = presence.getChild("c", NS_CAPS);
    const apply = (features: Features) => {
      const before = pep.interest.set(owner, full, features);
      if (before === features) return;
      pep.sendLastItems(owner, full, bare, features).catch((err) =>
        api.log.warn("{owner}: last items to {full} failed: {err}", { owner, full, err })
      );
    };
    const features = c ? caps.featuresOf(c, full) : NONE;
    if (!(features instanceof Promise)) return apply(features);
    // Not known yet: tracked with no features until the answer, then
    // applied only if the resource is still there.
    if (!pep.interest.has(owner, full)) pep.interest.set(owner, full, NONE);
    features.then((f) => {
      if (pep.interest.has(owner, full)) apply(f);
    });
  };

  // Presence from others is tracked in arrival order per account, once
  // the roster says the sender is a contact: strangers' directed presence
  // is not tracked (as Prosody does), so it can neither fill the
  // account's bounded table of resources (crowding out its contacts and
  // own resources) nor earn notifications of open nodes.
  const fromContacts = new KeyedQueue();
  const track = (owner: string, from: { bare: string; full: string }, stanza: Element) =>
    fromContacts.run(owner, async () => {
      if (stanza.attrs.type === "unavailable") return seen(owner, from.full, stanza);
      const sub = await subscriptionOf(api, owner, from.bare);
      if (sub === "to" || sub === "both" || sub === "from") seen(owner, from.full, stanza);
    }).catch((err) => api.log.warn("tracking presence failed: {err}", { err }));

  // A contact's presence to the account (local or remote): before the
  // presence module and delivery, which still handle it (false).
  api.hook("presence/bare", (ev: StanzaEvent) => {
    const from = parseJid(ev.stanza.attrs.from ?? "");
    const owner = ev.to?.local;
    if (!from || owner === undefined) return false;
    if (from.bare === pep.bareOf(owner)) seen(owner, from.full, ev.stanza);
    else void track(owner, from, ev.stanza);
    return false;
  }, 10);

  // Presence to one of the account's resources: a contact answering a
  // probe (a remote contact's presence after this server restarted comes
  // only this way). Directed presence from strangers (rooms, say) is not
  // tracked: only contacts whose presence the account receives count.
  api.hook("presence/full", (ev: StanzaEvent) => {
    const from = parseJid(ev.stanza.attrs.from ?? "");
    const owner = ev.to?.local;
    const type = ev.stanza.attrs.type;
    if (!from || owner === undefined || (type !== undefined && type !== "unavailable")) {
      return false;
    }
    if (from.bare === pep.bareOf(owner)) return false;
    const stanza = ev.stanza;
    fromContacts.run(owner, async () => {
      if (type === "unavailable") return seen(owner, from.full, stanza);
      const sub = await subscriptionOf(api, owner, from.bare);
      if (sub === "to" || sub === "both") seen(owner, from.full, stanza);
    }).catch((err) => api.log.warn("tracking presence failed: {err}", { err }));
    return false;
  }, 10);

  // The account's own resources.
  api.hook("presence/self", (ev: StanzaEvent) => {
    const origin = ev.origin;
    if (origin?.username && origin.fullJid) seen(origin.username, origin.fullJid, ev.stanza);
    return false;
  }, 10);

  api.hook<SessionEvent>("resource-unbind", ({ session }) => {
    if (session.username && session.fullJid) pep.interest.delete(session.username, session.fullJid);
  });

  api.hook<UserDeletedEvent>("user-deleted", ({ username }) => {
    pep.interest.forget(username);
    // The account's nodes went with its data, past the engine.
    pep.engine.forget(username);
  });
  return caps;
}
