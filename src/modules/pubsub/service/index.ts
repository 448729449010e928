/**
 * The publish-subscribe service (XEP-0060) on a service host
 * (`pubsub.<domain>`), module `pubsub`: nodes with configuration forms,
 * publish (with publish-options and auto-create), retract, subscriptions
 * with options, items, affiliations and subscriptions management, delete
 * and purge, notifications, the last item on subscription, and disco.
 * Nodes live in the service host's stores (they survive a restart);
 * `pubsub.*` in the config says who may create nodes and bounds the rest.
 *
 * Requests are addressed to the service itself (nodes are named by the
 * `node` attribute, not by JIDs), so every handler is on `to: "host"`.
 */
import type { ParleyModule } from "../../../core/module_api.ts";
import { NS } from "../../../xml/namespaces.ts";
import { NS_PUBSUB, NS_PUBSUB_OWNER } from "../engine/index.ts";
import { PubsubService } from "./service.ts";
import { EntityRequests } from "./entity.ts";
import { OwnerRequests } from "./owner.ts";
import { Disco, SERVICE_FEATURES } from "./disco.ts";

export const pubsubModule: ParleyModule = {
  name: "pubsub",
  setup(api) {
    if (api.host.kind !== "service") {
      api.log.error("{domain}: pubsub serves a service host, not a user host: not loaded", {
        domain: api.domain,
      });
      return;
    }
    const svc = new PubsubService(api);
    const entity = new EntityRequests(svc);
    const owner = new OwnerRequests(svc);
    const disco = new Disco(svc);
    api.addIdentity({ category: "pubsub", type: "service", name: "Publish-Subscribe" });
    for (const f of SERVICE_FEATURES) api.addFeature(f);

    api.handleIq({ type: "get", xmlns: NS.discoInfo, name: "query" }, disco.info);
    api.handleIq({ type: "get", xmlns: NS.discoItems, name: "query" }, disco.items);
    api.handleIq({ type: "get", xmlns: NS_PUBSUB, name: "pubsub" }, entity.get);
    api.handleIq({ type: "set", xmlns: NS_PUBSUB, name: "pubsub" }, entity.set);
    api.handleIq({ type: "get", xmlns: NS_PUBSUB_OWNER, name: "pubsub" }, owner.get);
    api.handleIq({ type: "set", xmlns: NS_PUBSUB_OWNER, name: "pubsub" }, owner.set);
    api.handleIq(
      { type: "get", xmlns: "urn:xmpp:ping", name: "ping" },
      () => api.EMPTY_RESULT,
    );
  },
};
