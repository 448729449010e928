/**
 * Personal eventing (XEP-0163): a pubsub service on every account's bare
 * JID, over the shared engine (../engine). Wires the pubsub requests, caps
 * tracking (+notify filtering, last item on presence), disco, and the
 * compatibility layers: bookmarks (XEP-0402 ↔ XEP-0048 private storage)
 * and vCard avatars (XEP-0398 / XEP-0153).
 *
 * Events it fires on the host (awaited, before the request is answered): `pep-published` (PepPublishedEvent) and
 * `pep-removed` (PepRemovedEvent).
 */
import type { ParleyModule } from "../../../core/module_api.ts";
import type { DiscoItemsEvent, DiscoNodeEvent } from "../../disco.ts";
import { parseJid } from "../../../jid.ts";
import { el } from "../../../xml/element.ts";
import { metaDataForm, NS_PUBSUB } from "../engine/index.ts";
import { PepService } from "./service.ts";
import { installPubsubIq } from "./iq_pubsub.ts";
import { installPresenceCaps } from "./presence_caps.ts";
import { installBookmarksCompat, NS_BOOKMARKS2_COMPAT } from "./bookmarks_compat.ts";
import { installAvatarCompat, NS_PEP_VCARD_CONVERSION } from "./avatar_compat.ts";
import { installBookmarksCompatPep, NS_BOOKMARKS2_COMPAT_PEP } from "./bookmarks_compat_pep.ts";

const FEATURES = [
  "access-open",
  "access-presence",
  "access-roster",
  "access-whitelist",
  "auto-create",
  "auto-subscribe",
  "config-node",
  // pubsub#max_items=max (XEP-0060 §16.4.4); Conversations asks for it before using max.
  "config-node-max",
  "create-nodes",
  "delete-items",
  "delete-nodes",
  "filtered-notifications",
  "item-ids",
  "last-published",
  "modify-affiliations",
  "multi-items",
  "persistent-items",
  "presence-notifications",
  "publish",
  "publish-options",
  "purge-nodes",
  "retract-items",
  "retrieve-affiliations",
  "retrieve-default",
  "retrieve-items",
  "subscribe",
].map((f) => NS_PUBSUB + "#" + f);

export const pepModule: ParleyModule = {
  name: "pep",
  setup(api) {
    const pep = new PepService(api);
    api.addAccountFeature(NS_PUBSUB);
    for (const f of FEATURES) api.addAccountFeature(f);
    api.addAccountFeature(NS_BOOKMARKS2_COMPAT);
    api.addAccountFeature(NS_BOOKMARKS2_COMPAT_PEP);
    api.addAccountFeature(NS_PEP_VCARD_CONVERSION);

    // XEP-0163 §1: the account is a virtual pubsub service.
    api.hook<DiscoNodeEvent>("disco-info/account", ({ query }) => {
      query.append(el("identity", { category: "pubsub", type: "pep" }));
    });

    // The nodes the requester may see (XEP-0060 §5.2).
    api.hook<DiscoItemsEvent>("disco-items/account", async ({ ev, items }) => {
      const owner = ev.to?.local ?? ev.origin?.username;
      const requester = parseJid(ev.stanza.attrs.from ?? "")?.bare ??
        ev.origin?.bareJid;
      if (owner === undefined || requester === undefined) return;
      for (const node of await pep.engine.listNodes(owner)) {
        if (await pep.accessError(owner, node, requester)) continue;
        items.push(el("item", { jid: pep.bareOf(owner), node: node.name }));
      }
    });

    // XEP-0060 §5.3/§5.4: a node's identity and meta-data, to whoever may see it.
    api.hook<DiscoNodeEvent>("disco-info-node/account", async ({ ev, query }) => {
      const owner = ev.to?.local ?? ev.origin?.username;
      const requester = parseJid(ev.stanza.attrs.from ?? "")?.bare ?? ev.origin?.bareJid;
      const name = query.attrs.node;
      if (owner === undefined || requester === undefined || name === undefined) return false;
      const node = await pep.engine.getNode(owner, name);
      if (!node || (await pep.accessError(owner, node, requester))) return false;
      query.append(el("identity", { category: "pubsub", type: "leaf" }));
      query.append(el("feature", { var: NS_PUBSUB }));
      query.append(metaDataForm(node));
      return true;
    });

    installPubsubIq(api, pep);
    installPresenceCaps(api, pep);
    installBookmarksCompat(api, pep);
    installBookmarksCompatPep(api, pep);
    installAvatarCompat(api, pep);
  },
};
