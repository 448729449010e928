/**
 * Service Discovery (XEP-0030) for the server and, on their behalf, its
 * accounts; the server's Entity Capabilities (XEP-0115) as a stream
 * feature; its contact addresses (XEP-0157) as extended info (XEP-0128).
 *
 * Contract for other modules (events on the host):
 *
 * - Providers `disco-item` (`api.provide("disco-item", { jid, node?, name? })`):
 *   listed in disco#items of the server without a node, before the event's.
 * - `disco-items/host` `{ ev, items: Element[] }`: fired for disco#items
 *   of the server without a node. Push `<item jid=… name=…/>` elements
 *   onto `items` and return nothing (returning true would hide later
 *   handlers' items). Handlers may be async. `items` already holds the
 *   host's service hosts (`conference.<domain>`…); an item repeating a
 *   jid and node already listed is left out of the answer.
 * - `disco-info-node/<node>` `{ ev, query }`: disco#info of the server
 *   with `node` (other than the caps node). `query` is the result's
 *   `<query xmlns='…disco#info' node=…/>`: append identities and features
 *   and return true. Unhandled → `item-not-found`.
 * - `disco-items-node/<node>` `{ ev, query }`: the same for disco#items
 *   (append `<item/>`s, return true). Ad-hoc commands (XEP-0050) hook
 *   `disco-items-node/http://jabber.org/protocol/commands` and
 *   `disco-info-node/<command node>`.
 *
 * To throw a specific error from a node handler, throw a StanzaError.
 *
 * Accounts (XEP-0030 §8, security considerations): disco#info of a bare
 * JID answers only the account itself and users with a presence
 * subscription to it (from/both; see `subscriptionOf` in
 * core/subscription.ts); everyone else, and any query about an account
 * that does not exist, gets `service-unavailable`, so the reply never
 * tells a stranger whether an account exists. disco#items of an account
 * lists what modules push on `disco-items/account` `{ ev, items }` (PEP:
 * the nodes the requester may see); `disco-info/account` `{ ev, query }`
 * lets modules append identities (PEP's pubsub/pep).
 */
import { el, type Element } from "../xml/element.ts";
import { NS, NS_CAPS } from "../xml/namespaces.ts";
export { NS_CAPS };
import { parseJid } from "../jid.ts";
import { StanzaError } from "../core/errors.ts";
import type { ParleyModule } from "../core/module_api.ts";
import { subscriptionOf } from "../core/subscription.ts";
import type { StanzaEvent } from "../core/router.ts";
import type { Config } from "../config/schema.ts";
import { form, type FormField } from "../util/dataforms.ts";
import { CAPS_NODE, capsVer } from "./caps.ts";

const SERVERINFO = "http://jabber.org/network/serverinfo";
const CONTACT_KINDS = ["abuse", "admin", "feedback", "sales", "security", "support"] as const;

export interface DiscoNodeEvent {
  ev: StanzaEvent;
  query: Element;
}

export interface DiscoItemsEvent {
  ev: StanzaEvent;
  items: Element[];
}

/** XEP-0157 contact addresses as a serverinfo form, or undefined when none is configured. */
export function contactForm(config: Config): Element | undefined {
  const fields: FormField[] = [];
  for (const kind of CONTACT_KINDS) {
    const values = config.contactAddresses[kind];
    if (values.length > 0) fields.push({ var: `${kind}-addresses`, type: "list-multi", values });
  }
  return fields.length > 0 ? form("result", fields, { formType: SERVERINFO }) : undefined;
}

export const discoModule: ParleyModule = {
  name: "disco",
  setup(api) {
    const host = api.host;
    api.addIdentity({ category: "server", type: "im", name: "Parley" });
    api.addFeature(NS.discoInfo);
    api.addFeature(NS.discoItems);
    api.addFeature(NS_CAPS);
    api.addAccountFeature(NS.discoInfo);
    api.addAccountFeature(NS.discoItems);
    const extended = contactForm(api.config);

    // Features and identities are added during setup (by every module of
    // the host), so the ver is computed on first use and kept until they
    // change in number.
    let cached: { key: string; ver: string } | undefined;
    const ver = (): string => {
      const key = host.discoIdentities.length + "/" + host.discoFeatures.size;
      if (cached?.key !== key) {
        cached = {
          key,
          ver: capsVer(host.discoIdentities, host.discoFeatures, extended ? [extended] : []),
        };
      }
      return cached.ver;
    };

    const hostInfo = (node: string | undefined): Element => {
      const query = el("query", { xmlns: NS.discoInfo, node });
      for (const i of host.discoIdentities) {
        query.append(el("identity", { category: i.category, type: i.type, name: i.name }));
      }
      for (const f of host.discoFeatures) query.append(el("feature", { var: f }));
      if (extended) query.append(extended);
      return query;
    };

    api.addStreamFeature((session) =>
      session.type === "c2s"
        ? el("c", { xmlns: NS_CAPS, hash: "sha-1", node: CAPS_NODE, ver: ver() })
        : undefined
    );

    const answerNode = async (
      ev: StanzaEvent,
      kind: "info" | "items",
      node: string,
    ): Promise<boolean> => {
      const query = el("query", { xmlns: kind === "info" ? NS.discoInfo : NS.discoItems, node });
      const handled = await api.fire<DiscoNodeEvent>(`disco-${kind}-node/${node}`, { ev, query });
      if (!handled) throw new StanzaError("cancel", "item-not-found");
      api.replyResult(ev, query);
      return true;
    };

    api.hook(`iq-get/host/${NS.discoInfo}:query`, (ev: StanzaEvent) => {
      const node = ev.stanza.firstElement()!.attrs.node;
      if (node === undefined || node === CAPS_NODE + "#" + ver()) {
        api.replyResult(ev, hostInfo(node));
        return true;
      }
      return answerNode(ev, "info", node);
    });

    api.hook(`iq-get/host/${NS.discoItems}:query`, async (ev: StanzaEvent) => {
      const node = ev.stanza.firstElement()!.attrs.node;
      if (node !== undefined) return answerNode(ev, "items", node);
      // The host's service hosts (conference.<domain>…) first, then static items other
      // modules provide (api.provide("disco-item", …)), then the event's.
      const items: Element[] = [
        ...host.services.map((s) => el("item", { jid: s.domain })),
        ...api.items("disco-item").map((i) =>
          el("item", { jid: i.jid, node: i.node, name: i.name })
        ),
      ];
      await api.fire<DiscoItemsEvent>("disco-items/host", { ev, items });
      api.replyResult(ev, el("query", { xmlns: NS.discoItems }, ...distinctItems(items)));
      return true;
    });

    // Accounts. Self queries come as iq-get/self (no `to`, or the own bare JID).
    const accountInfo = async (ev: StanzaEvent): Promise<Element> => {
      const query = el("query", { xmlns: NS.discoInfo });
      query.append(el("identity", { category: "account", type: "registered" }));
      // More identities (PEP's pubsub/pep) come from the modules.
      await api.fire<DiscoNodeEvent>("disco-info/account", { ev, query });
      for (const f of host.accountFeatures) query.append(el("feature", { var: f }));
      return query;
    };

    /**
     * disco#info of an account's node (PEP's, XEP-0060 §5.3): answered by
     * a `disco-info-node/account` handler (which checks access and
     * returns true), else item-not-found.
     */
    const accountNodeInfo = async (ev: StanzaEvent, node: string) => {
      const query = el("query", { xmlns: NS.discoInfo, node });
      if (!(await api.fire<DiscoNodeEvent>("disco-info-node/account", { ev, query }))) {
        throw new StanzaError("cancel", "item-not-found");
      }
      api.replyResult(ev, query);
      return true;
    };

    api.hook(`iq-get/self/${NS.discoInfo}:query`, async (ev: StanzaEvent) => {
      const node = ev.stanza.firstElement()!.attrs.node;
      if (node !== undefined) return accountNodeInfo(ev, node);
      api.replyResult(ev, await accountInfo(ev));
      return true;
    });

    api.hook(`iq-get/bare/${NS.discoInfo}:query`, async (ev: StanzaEvent) => {
      const owner = ev.to!.local!;
      const requester = parseJid(ev.stanza.attrs.from ?? "")?.bare;
      const unavailable = new StanzaError("cancel", "service-unavailable");
      if (requester === undefined || !(await api.auth.userExists(api.domain, owner))) {
        throw unavailable;
      }
      // A node's own access model decides who may see it (an open OMEMO node).
      const node = ev.stanza.firstElement()!.attrs.node;
      if (node !== undefined) return accountNodeInfo(ev, node);
      const sub = await subscriptionOf(api, owner, requester);
      if (sub !== "from" && sub !== "both") throw unavailable;
      api.replyResult(ev, await accountInfo(ev));
      return true;
    });

    // §8: modules add the items the requester may see (PEP: its nodes by
    // access model) through `disco-items/account`; an account that does not
    // exist gets the same empty result as a stranger.
    const accountItems = async (ev: StanzaEvent) => {
      const node = ev.stanza.firstElement()!.attrs.node;
      const items: Element[] = [];
      if (node === undefined) await api.fire<DiscoItemsEvent>("disco-items/account", { ev, items });
      api.replyResult(ev, el("query", { xmlns: NS.discoItems, node }, ...items));
      return true;
    };
    api.hook(`iq-get/self/${NS.discoItems}:query`, accountItems);
    api.hook(`iq-get/bare/${NS.discoItems}:query`, accountItems);
  },
};

/** Items without repeats of a (jid, node) pair: the first one stays (XEP-0030 §4.2). */
function distinctItems(items: Element[]): Element[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = `${item.attrs.jid ?? ""}\0${item.attrs.node ?? ""}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
