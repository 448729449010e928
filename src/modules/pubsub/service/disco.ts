/**
 * Service discovery of the pubsub service (XEP-0060 §5): the service's
 * identity (pubsub/service) and features; its nodes as items; a node's
 * identity (pubsub/leaf) with the `pubsub#meta-data` form (§5.4); a
 * node's items (§5.5). Nodes the requester may not read are not shown.
 */
import type { StanzaEvent } from "../../../core/router.ts";
import type { IqAnswer } from "../../../core/iq_handler.ts";
import { StanzaError } from "../../../core/errors.ts";
import { form } from "../../../util/dataforms.ts";
import { el } from "../../../xml/element.ts";
import { NS } from "../../../xml/namespaces.ts";
import { NS_PUBSUB, type StoredNode } from "../engine/index.ts";
import { type PubsubService, SCOPE } from "./service.ts";
import { requesterOf } from "./request.ts";
import { NS_META_DATA } from "../../../xml/namespaces.ts";
export { NS_META_DATA };

/** Most nodes or items one disco#items answer lists. */
const MAX_LISTED = 1000;

export const SERVICE_FEATURES = [
  NS_PUBSUB,
  ...[
    "access-open",
    "access-whitelist",
    "auto-create",
    "config-node",
    "create-and-configure",
    "create-nodes",
    "delete-items",
    "delete-nodes",
    "instant-nodes",
    "item-ids",
    "manage-subscriptions",
    "meta-data",
    "modify-affiliations",
    "multi-items",
    "outcast-affiliation",
    "persistent-items",
    "publish",
    "publish-only-affiliation",
    "publish-options",
    "publisher-affiliation",
    "member-affiliation",
    "purge-nodes",
    "retract-items",
    "retrieve-affiliations",
    "retrieve-default",
    "retrieve-items",
    "retrieve-subscriptions",
    "subscribe",
    "subscription-options",
    "last-published",
  ].sort().map((f) => NS_PUBSUB + "#" + f),
];

export class Disco {
  constructor(readonly svc: PubsubService) {}

  /** The node `name`, when the requester may see it; else item-not-found (nothing leaks). */
  async #visible(ev: StanzaEvent, name: string): Promise<StoredNode> {
    const node = await this.svc.engine.getNode(SCOPE, name);
    if (!node || (await this.svc.readError(node, requesterOf(ev).bare))) {
      throw new StanzaError("cancel", "item-not-found");
    }
    return node;
  }

  info = async (ev: StanzaEvent): Promise<IqAnswer> => {
    const name = ev.stanza.firstElement()!.attrs.node;
    const host = this.svc.api.host;
    if (name === undefined) {
      const out = el("query", { xmlns: NS.discoInfo });
      for (const i of host.discoIdentities) {
        out.append(el("identity", { category: i.category, type: i.type, name: i.name }));
      }
      const features = [NS.discoInfo, NS.discoItems, ...host.discoFeatures];
      for (const f of [...new Set(features)].sort()) out.append(el("feature", { var: f }));
      return out;
    }
    const node = await this.#visible(ev, name);
    const out = el("query", { xmlns: NS.discoInfo, node: name });
    out.append(
      el("identity", { category: "pubsub", type: "leaf", name: node.config.title || undefined }),
    );
    out.append(el("feature", { var: NS_PUBSUB }));
    out.append(metaData(node));
    return out;
  };

  items = async (ev: StanzaEvent): Promise<IqAnswer> => {
    const name = ev.stanza.firstElement()!.attrs.node;
    const domain = this.svc.api.domain;
    const requester = requesterOf(ev).bare;
    if (name === undefined) {
      const out = el("query", { xmlns: NS.discoItems });
      let n = 0;
      for (const node of await this.svc.engine.listNodes(SCOPE)) {
        if (await this.svc.readError(node, requester)) continue;
        if (++n > MAX_LISTED) break;
        out.append(
          el("item", { jid: domain, node: node.name, name: node.config.title || undefined }),
        );
      }
      return out;
    }
    const node = await this.#visible(ev, name);
    const out = el("query", { xmlns: NS.discoItems, node: name });
    // §5.5: the item ids as names, newest first.
    for (const id of [...node.items].reverse().slice(0, MAX_LISTED)) {
      out.append(el("item", { jid: domain, name: id }));
    }
    return out;
  };
}

/** §5.4: the node's meta-data form. */
function metaData(node: StoredNode) {
  const owners = Object.entries(node.affiliations).filter(([, a]) => a === "owner").map(([j]) => j);
  const publishers = Object.entries(node.affiliations).filter(([, a]) => a === "publisher").map((
    [j],
  ) => j);
  return form("result", [
    { var: "pubsub#title", values: [node.config.title] },
    { var: "pubsub#type", values: [node.config.type] },
    { var: "pubsub#creation_date", values: [new Date(node.created).toISOString()] },
    { var: "pubsub#owner", type: "jid-multi", values: owners },
    { var: "pubsub#publisher", type: "jid-multi", values: publishers },
    { var: "pubsub#access_model", values: [node.config.access_model] },
    { var: "pubsub#publish_model", values: [node.config.publish_model] },
    { var: "pubsub#max_items", values: [String(node.config.max_items)] },
    { var: "pubsub#num_subscribers", values: [String(Object.keys(node.subscriptions).length)] },
  ], { formType: NS_META_DATA });
}
