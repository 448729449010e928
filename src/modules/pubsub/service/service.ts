/**
 * The publish-subscribe service (XEP-0060) on `pubsub.<domain>` over the
 * shared engine (../engine): one scope ("") for all its nodes, stored in
 * the service host's map stores so nodes survive a restart. Besides the
 * engine's data it keeps, per node, what the engine has no room for
 * (`NodeExtras`: subscription ids and options, `pubsub#itemreply`), in a
 * store of its own. It decides who may create nodes (`pubsub.create`)
 * and sends the notifications, as headline messages from the service.
 */
import { isHostAdmin } from "../../../core/host_admins.ts";
import type { ModuleApi } from "../../../core/module_api.ts";
import type { Config } from "../../../config/schema.ts";
import { parseJid } from "../../../jid.ts";
import type { Element } from "../../../xml/element.ts";
import { KeyedQueue } from "../../../util/keyed_queue.ts";
import { randomId } from "../../../util/random.ts";
import {
  accessError,
  affiliationOf,
  DEFAULT_CONFIG,
  itemElement,
  lastItemNotification,
  mapStorage,
  notification,
  notificationTargets,
  PubsubEngine,
  pubsubError,
  type Relations,
  type StoredItem,
  type StoredNode,
} from "../engine/index.ts";
import type { Json, MapStore } from "../../../storage/types.ts";

/** Who gets replies to items (XEP-0060 §16.4.4 `pubsub#itemreply`); "publisher" adds `publisher`. */
export type ItemReply = "owner" | "publisher";

/** One subscription's service-side data: its id and options (§6.3). */
export interface SubscriptionData {
  subid: string;
  /** `pubsub#deliver`: false holds notifications back (the subscription stays). */
  deliver: boolean;
}

/** What the service keeps per node beside the engine's StoredNode. */
export interface NodeExtras {
  itemreply: ItemReply;
  /** Subscribed JID (as the engine stores it) → its data. */
  subs: Record<string, SubscriptionData>;
}

/** The service's scope in the engine: its nodes are not anybody's. */
export const SCOPE = "";

/** Subscriptions one bare JID's resources may hold on one node (as PEP). */
const MAX_SUBSCRIPTIONS_PER_JID = 10;

/**
 * Nodes one entity may own here (admins too): a tenth of the default
 * `pubsub.maxNodes`, so one user cannot take every node the service holds.
 */
const MAX_NODES_PER_OWNER = 1000;

/** Nobody has a presence subscription or roster group with the service itself. */
const NO_RELATIONS: Relations = {
  subscribedToPresence: () => Promise.resolve(false),
  rosterGroups: () => Promise.resolve([]),
};

export class PubsubService {
  readonly engine: PubsubEngine;
  readonly settings: Config["pubsub"];
  readonly #extras: MapStore;
  /** Serializes the service's own read-modify-writes of NodeExtras with the engine's changes. */
  readonly #queue = new KeyedQueue();

  constructor(readonly api: ModuleApi) {
    this.settings = api.config.pubsub;
    const { maxNodes, maxItemsPerNode, maxItemBytes, maxSubscriptionsPerNode, maxBytes } =
      this.settings;
    this.engine = new PubsubEngine({
      storage: mapStorage(api.map("pubsub_nodes"), api.map("pubsub_items")),
      limits: {
        maxNodes,
        maxItemsPerNode,
        maxItemBytes,
        // Without it, 1000 nodes per owner × 1000 items × maxItemBytes: a disk.
        maxBytesPerScope: maxBytes,
        // A subscriber names any full JID of its own: without a cap one user
        // fills a node's `maxSubscriptionsPerNode` with made-up resources and
        // turns each publish into that many notifications.
        maxSubscriptionsPerNode,
        maxSubscriptionsPerJid: MAX_SUBSCRIPTIONS_PER_JID,
        maxNodesPerOwner: MAX_NODES_PER_OWNER,
      },
      // A general service keeps a few items and sends the last one on subscription.
      defaults: {
        ...DEFAULT_CONFIG,
        max_items: Math.min(10, maxItemsPerNode),
        send_last_published_item: "on_sub",
      },
    });
    this.#extras = api.map("pubsub_extras");
  }

  /** Run `job` alone: node changes plus their extras stay consistent. */
  serial<T>(job: () => Promise<T>): Promise<T> {
    return this.#queue.run(SCOPE, job);
  }

  async extras(node: string): Promise<NodeExtras> {
    const v = await this.#extras.get(SCOPE, node);
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const e = v as unknown as NodeExtras;
      return { itemreply: e.itemreply === "publisher" ? "publisher" : "owner", subs: e.subs ?? {} };
    }
    return { itemreply: "owner", subs: {} };
  }

  setExtras(node: string, extras: NodeExtras | undefined): Promise<void> {
    return this.#extras.set(SCOPE, node, extras as unknown as Json);
  }

  /** The service's admins (the parent host's): they may create anything and own every node. */
  isAdmin(bare: string): boolean {
    return isHostAdmin(this.api, bare);
  }

  /** `pubsub.create`: whether `bare` may create nodes here. */
  mayCreate(bare: string): boolean {
    if (this.isAdmin(bare)) return true;
    switch (this.settings.create) {
      case "anyone":
        return true;
      case "admins":
        return false;
      case "local": {
        const jid = parseJid(bare);
        return jid?.local !== undefined && jid.domain === this.api.host.parent;
      }
    }
  }

  /** Owner of `node`, or an admin (who acts as one). */
  isOwner(node: StoredNode, bare: string): boolean {
    return affiliationOf(node, bare) === "owner" || this.isAdmin(bare);
  }

  requireOwner(node: StoredNode, bare: string): void {
    if (!this.isOwner(node, bare)) throw pubsubError("auth", "forbidden");
  }

  /**
   * Undefined when `bare` may read `node` (items, subscribing, disco), else
   * the error. Publish-only entities may not (XEP-0060 §4.1, table 4).
   */
  async readError(node: StoredNode, bare: string) {
    if (this.isAdmin(bare)) return undefined;
    if (affiliationOf(node, bare) === "publish-only") return pubsubError("auth", "forbidden");
    return await accessError(node, bare, NO_RELATIONS);
  }

  /**
   * Send `event` to the node's subscribers that may still see it and have
   * not turned delivery off.
   */
  async broadcast(node: StoredNode, event: Element, extras?: NodeExtras): Promise<void> {
    if (Object.keys(node.subscriptions).length === 0) return;
    const subs = (extras ?? await this.extras(node.name)).subs;
    const targets = await notificationTargets(node, [], NO_RELATIONS);
    // One `event` shared by every message: stanzas are immutable once routed
    // (element.ts), and a deep copy of the payload per subscriber is waste.
    for (const to of targets) {
      if (subs[to]?.deliver === false) continue;
      void this.api.send(
        notification(this.api.domain, to, event, node.config.notification_type),
      );
    }
  }

  /**
   * An item as a notification (payload per `deliver_payloads`) or an items
   * result (always the payload) carries it; `publisher` when itemreply says so.
   */
  itemEl(node: StoredNode, item: StoredItem, extras: NodeExtras, notification = true): Element {
    return itemElement(
      item,
      !notification || node.config.deliver_payloads,
      extras.itemreply === "publisher",
    );
  }

  /**
   * XEP-0060 §6.1.7: the last item to a new subscriber, with when it was
   * published, unless the node says never.
   */
  async sendLast(node: StoredNode, to: string): Promise<void> {
    if (node.config.send_last_published_item === "never") return;
    const item = await this.engine.lastItem(SCOPE, node);
    if (!item) return;
    const extras = await this.extras(node.name);
    void this.api.send(lastItemNotification(
      this.api.domain,
      to,
      node.name,
      this.itemEl(node, item, extras),
      item.when,
      node.config.notification_type,
    ));
  }

  newSubid(): string {
    return randomId(16);
  }
}
