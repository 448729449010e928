/**
 * Last Activity (XEP-0012). To the server: its uptime in seconds. To an
 * account's bare JID, for the account itself and for users subscribed to
 * its presence (from/both, the same people who would see it go offline):
 * 0 while it has an available resource, else the seconds since its last
 * resource ended and the status of that resource's last unavailable
 * presence. Others get `forbidden`; an account that does not exist
 * `service-unavailable`.
 *
 * The logout time and status are kept in `keyval("lastlog")` as
 * `{ when: ms, status? }`, written when the last resource unbinds. While
 * the account is still connected but no resource is available (the last
 * available one sent unavailable presence and stayed), the answer is the
 * time since that presence and its status, kept in memory: the stored
 * logout, if any, is older than that and would be wrong.
 *
 * The subscription comes from `subscriptionOf` (core/subscription.ts): the
 * `roster/get-subscription` event, else the roster module's stored roster.
 */
import { el, type Element } from "../xml/element.ts";
import { parseJid } from "../jid.ts";
import { StanzaError } from "../core/errors.ts";
import type { ParleyModule } from "../core/module_api.ts";
import type { StanzaEvent } from "../core/router.ts";
import type { Session } from "../core/session.ts";
import type { SessionEvent } from "../core/sessions.ts";
// The same subscription rule as disco of accounts: one reading of the roster.
import { subscriptionOf } from "../core/subscription.ts";

export const NS_LAST = "jabber:iq:last";

// A type, not an interface: it must be assignable to storage's Json.
type LastLog = { when: number; status?: string };

const seconds = (ms: number) => String(Math.max(0, Math.floor(ms / 1000)));

export const lastModule: ParleyModule = {
  name: "last",
  setup(api) {
    const started = Date.now();
    const store = api.keyval("lastlog");
    api.addFeature(NS_LAST);
    api.addAccountFeature(NS_LAST);

    const answer = (secs: string, status?: string) =>
      el("query", { xmlns: NS_LAST, seconds: secs }, status);
    const route = { type: "get", xmlns: NS_LAST, name: "query" } as const;

    api.handleIq(route, () => answer(seconds(Date.now() - started)));

    /**
     * Connected accounts whose last available resource went unavailable:
     * when, and its status. One entry per connected user at most (removed
     * when the last resource unbinds), so it is bounded by the sessions.
     */
    const unavailableSince = new Map<string, LastLog>();

    const account = async (user: string): Promise<Element> => {
      if (api.sessions.available(api.domain, user).length > 0) return answer("0");
      const log = unavailableSince.get(user) ?? await store.get(user) as LastLog | undefined;
      if (!log) throw new StanzaError("cancel", "item-not-found", "No activity recorded");
      return answer(seconds(Date.now() - log.when), log.status);
    };

    api.handleIq({ ...route, to: "self" }, (ev) => account(ev.origin!.username!));

    api.handleIq({ ...route, to: "bare" }, async (ev) => {
      const owner = ev.to!.local!;
      // Strangers get forbidden whether or not the account exists (an
      // unknown account has no subscribers), so this query cannot be used
      // to find out which accounts exist.
      const requester = parseJid(ev.stanza.attrs.from ?? "")?.bare;
      const sub = requester === undefined ? "none" : await subscriptionOf(api, owner, requester);
      if (sub !== "from" && sub !== "both") throw new StanzaError("auth", "forbidden");
      return account(owner);
    });

    // The status of each resource's last unavailable presence (core
    // delivery clears `session.presence` before the resource unbinds).
    // Runs before that: `presence` still says whether it was available.
    const lastStatus = new WeakMap<Session, string>();
    api.hook("presence/self", (ev: StanzaEvent) => {
      const origin = ev.origin;
      if (!origin || ev.stanza.attrs.type !== "unavailable") return;
      const status = ev.stanza.getChildText("status");
      if (status !== undefined) lastStatus.set(origin, status);
      if (origin.presence === undefined) return;
      const user = origin.username!;
      const others = api.sessions.available(api.domain, user).some((s) => s !== origin);
      if (others) return;
      const log: LastLog = { when: Date.now() };
      if (status !== undefined) log.status = status;
      unavailableSince.set(user, log);
    }, 1);

    api.hook("resource-unbind", (ev: SessionEvent) => {
      const s = ev.session;
      // Only when the account's last resource is gone.
      if (api.sessions.online(api.domain, s.username!)) return;
      unavailableSince.delete(s.username!);
      const log: LastLog = { when: Date.now() };
      const status = lastStatus.get(s);
      if (status !== undefined) log.status = status;
      return store.set(s.username!, log).then(() => false);
    });
    // Storage.deleteUser removes it too; this covers a logout racing the removal.
    api.hook("user-deleted", (ev: { username: string }) => store.set(ev.username, undefined));
  },
};
