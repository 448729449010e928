/**
 * PEP (XEP-0163) over the engine: one scope per account (its username),
 * node owner and only publisher the account's bare JID. Besides the
 * engine's operations it knows who gets notified (Interest: resources
 * whose caps ask for `<node>+notify`, filtered by access model) and sends
 * the notifications as headline messages from the account's bare JID.
 */
import type { ModuleApi } from "../../../core/module_api.ts";
import { subscriptionOf } from "../../../core/subscription.ts";
import type { Element } from "../../../xml/element.ts";
import type { FormValues } from "../../../util/dataforms.ts";
import {
  accessError,
  configForm,
  DEFAULT_CONFIG,
  eventConfiguration,
  eventDelete,
  eventItems,
  eventPurge,
  eventRetract,
  itemElement,
  lastItemNotification,
  mapStorage,
  notification,
  notificationTargets,
  type PublishRequest,
  type PublishResult,
  PubsubEngine,
  type Relations,
  type StoredItem,
  type StoredNode,
} from "../engine/index.ts";
import type { Features } from "./caps_cache.ts";
import { Interest } from "./interest.ts";

/** Fired (emitted) on the host after a PEP publish: compat modules mirror it. */
export interface PepPublishedEvent {
  username: string;
  node: string;
  item: StoredItem;
  payload?: Element;
}

/** Fired (emitted) after a retract, purge or delete: `ids` undefined means all items. */
export interface PepRemovedEvent {
  username: string;
  node: string;
  ids?: string[];
}

/**
 * Explicit subscriptions are rare in PEP (caps do the work): a few
 * resources per contact, not thousands of notifications per publish; and
 * no more per node than a node record (written whole on each publish)
 * should carry, as anyone may subscribe to an open node.
 */
export const PEP_SUBSCRIPTION_LIMITS = {
  maxSubscriptionsPerJid: 10,
  maxSubscriptionsPerNode: 1000,
} as const;

export class PepService {
  readonly engine: PubsubEngine;
  readonly interest = new Interest();

  constructor(readonly api: ModuleApi) {
    const { maxNodes, maxItemsPerNode, maxItemBytes, maxBytesPerAccount } = api.config.pep;
    this.engine = new PubsubEngine({
      storage: mapStorage(api.map("pep_nodes"), api.map("pep_items")),
      limits: {
        maxNodes,
        maxItemsPerNode,
        maxItemBytes,
        maxBytesPerScope: maxBytesPerAccount,
        ...PEP_SUBSCRIPTION_LIMITS,
      },
      // XEP-0163 §4.3: presence access by default, the last item sent on presence.
      defaults: { ...DEFAULT_CONFIG, access_model: "presence" },
      // No subscription approval flow in PEP: `authorize` would silently be a whitelist.
      accessModels: ["open", "presence", "roster", "whitelist"],
    });
  }

  bareOf(username: string): string {
    return username + "@" + this.api.domain;
  }

  /** The roster of `username` as the engine's access rules need it. */
  relations(username: string): Relations {
    const api = this.api;
    const own = this.bareOf(username);
    return {
      async subscribedToPresence(jid) {
        if (jid === own) return true;
        const sub = await subscriptionOf(api, username, jid);
        return sub === "from" || sub === "both";
      },
      async rosterGroups(jid) {
        const stored = await api.keyval("roster").get(username);
        const items = stored && typeof stored === "object" && !Array.isArray(stored)
          ? stored.items
          : undefined;
        if (!Array.isArray(items)) return [];
        for (const item of items) {
          if (item && typeof item === "object" && !Array.isArray(item) && item.jid === jid) {
            return Array.isArray(item.groups)
              ? item.groups.filter((g): g is string => typeof g === "string")
              : [];
          }
        }
        return [];
      },
    };
  }

  /** Undefined when `requester` (bare) may read `node` of `username`, else the error. */
  accessError(username: string, node: StoredNode, requester: string) {
    return accessError(node, requester, this.relations(username));
  }

  /** Send `event` to whoever wants `node`'s notifications and may see it. */
  async broadcast(username: string, node: StoredNode, event: Element): Promise<void> {
    const candidates = this.interest.wanting(username, node.name);
    if (candidates.length === 0 && Object.keys(node.subscriptions).length === 0) return;
    const targets = await notificationTargets(node, candidates, this.relations(username));
    const from = this.bareOf(username);
    // One `event` shared by every message: stanzas are immutable once routed
    // (element.ts), and a deep copy of the payload per contact is waste.
    for (const to of targets) {
      void this.api.send(notification(from, to, event, node.config.notification_type));
    }
  }

  async publish(username: string, req: PublishRequest): Promise<PublishResult> {
    const result = await this.engine.publish(username, req);
    const { node, item } = result;
    const withPayload = node.config.deliver_payloads;
    await this.broadcast(username, node, eventItems(node.name, [itemElement(item, withPayload)]));
    await this.#mirror(
      "pep-published",
      {
        username,
        node: node.name,
        item,
        payload: req.payload,
      } satisfies PepPublishedEvent,
    );
    return result;
  }

  /**
   * Compat layers (vCard avatar) mirror a change before the request is
   * answered, so a client reading the other side next sees it. Their
   * failure is logged: the PEP change itself stands.
   */
  async #mirror(name: string, ev: PepPublishedEvent | PepRemovedEvent): Promise<void> {
    try {
      await this.api.fire(name, ev);
    } catch (err) {
      this.api.log.warn("{name} for {user} failed: {err}", { name, user: ev.username, err });
    }
  }

  async retract(username: string, name: string, id: string, notify: boolean): Promise<void> {
    const node = await this.engine.retract(username, name, id, this.bareOf(username));
    if (notify) await this.broadcast(username, node, eventRetract(name, [id]));
    await this.#mirror("pep-removed", { username, node: name, ids: [id] });
  }

  /** XEP-0060 §8.2.5: configure; subscribers told when the node says notify_config. */
  async configure(username: string, name: string, form: FormValues): Promise<void> {
    const node = await this.engine.configureNode(username, name, form);
    if (!node.config.notify_config) return;
    const withForm = node.config.deliver_payloads ? configForm(node.config, "result") : undefined;
    await this.broadcast(username, node, eventConfiguration(name, withForm));
  }

  async purge(username: string, name: string): Promise<void> {
    const node = await this.engine.purge(username, name);
    // XEP-0060 §8.5.2: one purge notification, for nodes that notify item removals.
    if (node.config.notify_retract) await this.broadcast(username, node, eventPurge(name));
    await this.#mirror("pep-removed", { username, node: name });
  }

  async deleteNode(username: string, name: string): Promise<void> {
    const node = await this.engine.deleteNode(username, name);
    if (node.config.notify_delete) await this.broadcast(username, node, eventDelete(name));
    await this.#mirror("pep-removed", { username, node: name });
  }

  /**
   * XEP-0163 §4.3.2 / XEP-0060 §6.1.7: a resource just became available
   * (or announced new caps): the last item of each node it wants and may
   * see, with the time it was published.
   */
  async sendLastItems(username: string, full: string, bare: string, features: Features) {
    if (features.size === 0) return;
    const relations = this.relations(username);
    const from = this.bareOf(username);
    for (const node of await this.engine.listNodes(username)) {
      if (!features.has(node.name + "+notify")) continue;
      if (node.config.send_last_published_item !== "on_sub_and_presence") continue;
      if (await accessError(node, bare, relations)) continue;
      const item = await this.engine.lastItem(username, node);
      if (!item) continue;
      void this.api.send(lastItemNotification(
        from,
        full,
        node.name,
        itemElement(item, node.config.deliver_payloads),
        item.when,
        node.config.notification_type,
      ));
    }
  }
}
