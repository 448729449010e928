/**
 * The publish-subscribe engine's operations on stored nodes and items.
 * Every operation on one scope runs in that scope's queue, so concurrent
 * publishes never lose an item id or exceed max_items.
 */
import type { Element } from "../../../xml/element.ts";
import type { FormValues } from "../../../util/dataforms.ts";
import { serializedBytes } from "../../../util/xml_fragment.ts";
import { KeyedQueue } from "../../../util/keyed_queue.ts";
import { randomId } from "../../../util/random.ts";
import type {
  AccessModel,
  Affiliation,
  EngineLimits,
  NodeConfig,
  StoredItem,
  StoredNode,
} from "./types.ts";
import {
  applyConfigForm,
  checkOptionsKnown,
  checkPreconditions,
  effectiveMaxItems,
} from "./config.ts";
import { applySubscriptionChanges } from "./subscription_changes.ts";
import { pubsubError } from "./errors.ts";
import type { PubsubStorage } from "./storage.ts";
import { mayPublish } from "./access.ts";
import { cachedNodes, type CachedStorage } from "./node_cache.ts";
import { StanzaError } from "../../../core/errors.ts";

/** A node being changed: `bytes` always there, one per item. */
type EditableNode = StoredNode & { bytes: number[] };

/**
 * A node to change: node records are shared (node_cache.ts), and whoever
 * read one before must keep seeing it as it was then, as when every read
 * parsed its own copy. So an operation changes a copy, and its write puts
 * the copy in place. Items and their bytes are copied here (changed in
 * place below, always together: `removeItemAt`, `pushItem`);
 * subscriptions, affiliations and config are replaced, not changed, by
 * the operations that change them.
 */
function editable(node: StoredNode): EditableNode {
  return { ...node, items: [...node.items], bytes: node.items.map((_, i) => node.bytes?.[i] ?? 0) };
}

function removeItemAt(node: EditableNode, at: number): void {
  node.items.splice(at, 1);
  node.bytes.splice(at, 1);
}

function pushItem(node: EditableNode, id: string, bytes: number): void {
  node.items.push(id);
  node.bytes.push(bytes);
}

/** The first of `ids` (items of `node`) whose payloads fit in `budget` bytes; at least one. */
function withinBytes(node: StoredNode, ids: string[], budget: number): string[] {
  const sizes = new Map(node.items.map((id, i) => [id, node.bytes?.[i] ?? 0]));
  let used = 0;
  for (let i = 0; i < ids.length; i++) {
    used += sizes.get(ids[i]) ?? 0;
    if (used > budget && i > 0) return ids.slice(0, i);
  }
  return ids;
}

/** The payload bytes of the node's items. */
function nodeBytes(node: StoredNode): number {
  let sum = 0;
  for (const b of node.bytes ?? []) sum += b;
  return sum;
}

export interface EngineOptions {
  storage: PubsubStorage;
  limits: EngineLimits;
  /** The configuration of a new node before its create/publish options apply. */
  defaults: NodeConfig;
  /**
   * The access models a node may be given (default: all five). A form
   * asking for another is refused (`not-acceptable` + `unsupported`):
   * PEP has no subscription approval, so no `authorize`.
   */
  accessModels?: readonly AccessModel[];
}

export interface PublishRequest {
  node: string;
  /** Generated when absent. */
  id?: string;
  /** The item's payload element; undefined for a notification-only item. */
  payload?: Element;
  /** Bare JID. */
  publisher: string;
  /** publish-options (XEP-0060 §7.1.5): preconditions, and the config of an auto-created node. */
  options?: FormValues;
  /** Create the node when missing (PEP's auto-create, §12.? and XEP-0163 §3). */
  autoCreate?: boolean;
  /**
   * Whether the request carried an `<item/>`: given for a client's publish,
   * whose shape must match the node's event type (§7.1.3.6); the server's
   * own publishes (compat layers) leave it out.
   */
  hasItem?: boolean;
}

export interface PublishResult {
  node: StoredNode;
  item: StoredItem;
  created: boolean;
  /** Older items dropped by max_items. */
  evicted: string[];
}

/**
 * A name a new node may have: not empty, at most 1024 characters, and
 * without a line feed. Items are stored under "<node>\n<id>"
 * (storage.ts), so a node "a\nb" with item "c" would be stored where
 * item "b\nc" of node "a" is, someone else's node in the pubsub service.
 */
function checkNodeName(name: string): void {
  if (name === "" || name.length > 1024 || name.includes("\n")) {
    throw pubsubError("modify", "not-acceptable", undefined, "Invalid node name");
  }
}

/**
 * XEP-0060 §7.1.3.6: a persistent node needs an item (MUST), a node that
 * delivers payloads a payload (SHOULD), and a transient notification-only
 * node takes no item (MUST).
 */
function checkEventType(config: NodeConfig, hasItem: boolean, hasPayload: boolean): void {
  if (config.persist_items && !hasItem) {
    throw pubsubError("modify", "bad-request", "item-required");
  }
  if (config.deliver_payloads && !hasPayload) {
    throw pubsubError("modify", "bad-request", "payload-required");
  }
  if (!config.persist_items && !config.deliver_payloads && hasItem) {
    throw pubsubError("modify", "bad-request", "item-forbidden");
  }
}

export class PubsubEngine {
  readonly #queue = new KeyedQueue();
  /** Storage with node records of recent scopes in memory (node_cache.ts). */
  readonly #storage: CachedStorage;

  constructor(readonly options: EngineOptions) {
    // Room for the largest scope twice over: a service configured for more
    // nodes than the default bound would otherwise never be cached.
    this.#storage = cachedNodes(options.storage, Math.max(20_000, 2 * options.limits.maxNodes));
  }

  /**
   * The scope's nodes were changed outside the engine (an account's data
   * removed): nodes and counts are read from storage again when next needed.
   */
  forget(scope: string): void {
    this.#storage.forget(scope);
  }

  get limits(): EngineLimits {
    return this.options.limits;
  }

  #run<T>(scope: string, job: () => Promise<T>): Promise<T> {
    return this.#queue.run(scope, job).catch((err) => {
      // A storage failure may leave a cached node changed but not stored:
      // read the scope again. (Refusals, stanza errors, come before any
      // change, and must not cost a re-read: anyone can provoke them.)
      if (!(err instanceof StanzaError)) this.forget(scope);
      throw err;
    });
  }

  getNode(scope: string, name: string): Promise<StoredNode | undefined> {
    return this.#storage.node(scope, name);
  }

  async requireNode(scope: string, name: string): Promise<StoredNode> {
    const node = await this.getNode(scope, name);
    if (!node) throw pubsubError("cancel", "item-not-found");
    return node;
  }

  listNodes(scope: string): Promise<StoredNode[]> {
    return this.#storage.nodes(scope);
  }

  /** `base` with `form` applied, refusing an access model this service lacks. */
  #applyForm(base: NodeConfig, form: FormValues): NodeConfig {
    const config = applyConfigForm(base, form, this.limits, false);
    const allowed = this.options.accessModels;
    if (allowed && !allowed.includes(config.access_model)) {
      throw pubsubError(
        "modify",
        "not-acceptable",
        "unsupported",
        `No access model ${config.access_model} here`,
        "access-" + config.access_model,
      );
    }
    return config;
  }

  /** A fresh node owned by `owner` (bare JID), not yet stored. */
  #newNode(name: string, owner: string, config: NodeConfig): EditableNode {
    return {
      name,
      config,
      affiliations: { [owner]: "owner" },
      subscriptions: {},
      items: [],
      bytes: [],
      created: Date.now(),
    };
  }

  /**
   * The create limits, counted over the scope's nodes: in memory
   * (node_cache.ts), so a create or a refusal at the limit reads no storage.
   */
  async #checkRoom(scope: string, owner: string): Promise<void> {
    const nodes = await this.listNodes(scope);
    if (nodes.length >= this.limits.maxNodes) {
      throw pubsubError(
        "wait",
        "resource-constraint",
        undefined,
        `At most ${this.limits.maxNodes} nodes`,
      );
    }
    const perOwner = this.limits.maxNodesPerOwner;
    if (
      perOwner !== undefined &&
      nodes.filter((n) => n.affiliations[owner] === "owner").length >= perOwner
    ) {
      throw pubsubError(
        "wait",
        "resource-constraint",
        undefined,
        `At most ${perOwner} nodes each`,
      );
    }
  }

  /** XEP-0060 §8.1: create a node, configured by `form` values when given. */
  createNode(
    scope: string,
    name: string,
    owner: string,
    form?: FormValues,
  ): Promise<StoredNode> {
    return this.#run(scope, async () => {
      checkNodeName(name);
      if (await this.getNode(scope, name)) throw pubsubError("cancel", "conflict");
      await this.#checkRoom(scope, owner);
      const config = form
        ? this.#applyForm(this.options.defaults, form)
        : { ...this.options.defaults };
      const node = this.#newNode(name, owner, config);
      await this.#storage.setNode(scope, name, node);
      return node;
    });
  }

  /** XEP-0060 §8.2.4: apply a submitted configuration form; returns the node. */
  configureNode(scope: string, name: string, form: FormValues): Promise<StoredNode> {
    return this.#run(scope, async () => {
      const node = editable(await this.requireNode(scope, name));
      node.config = this.#applyForm(node.config, form);
      await this.#trim(scope, node);
      await this.#storage.setNode(scope, name, node);
      return node;
    });
  }

  /** Drop the oldest items beyond max_items; returns their ids. */
  async #trim(scope: string, node: EditableNode): Promise<string[]> {
    const max = effectiveMaxItems(node.config, this.limits);
    const over = node.items.length - max;
    if (over <= 0) return [];
    const evicted = node.items.splice(0, over);
    node.bytes.splice(0, over);
    for (const id of evicted) await this.#storage.setItem(scope, node.name, id, undefined);
    return evicted;
  }

  /**
   * The scope's storage quota (`maxBytesPerScope`) for a publish of `bytes`
   * to `node` that replaces its item at `replaced` (-1: none). Counted as
   * the node will be after it: the replaced item out, and the oldest
   * pushed out by max_items, so a publish that does not grow what is
   * stored always goes (at the quota, an avatar can still be changed).
   */
  async #checkQuota(
    scope: string,
    node: EditableNode,
    replaced: number,
    bytes: number,
  ): Promise<void> {
    const quota = this.limits.maxBytesPerScope;
    if (quota === undefined) return;
    const kept = node.bytes.filter((_, i) => i !== replaced);
    kept.push(bytes);
    const over = kept.length - effectiveMaxItems(node.config, this.limits);
    let total = 0;
    for (let i = Math.max(0, over); i < kept.length; i++) total += kept[i];
    if (total <= nodeBytes(node)) return;
    for (const n of await this.listNodes(scope)) if (n.name !== node.name) total += nodeBytes(n);
    if (total > quota) {
      throw pubsubError(
        "wait",
        "resource-constraint",
        undefined,
        `Items take at most ${quota} bytes`,
      );
    }
  }

  /** XEP-0060 §7.1: publish one item (auto-creating the node when asked). */
  publish(scope: string, req: PublishRequest): Promise<PublishResult> {
    return this.#run(scope, async () => {
      const storage = this.#storage;
      let payload = "";
      let payloadBytes = 0;
      if (req.payload) {
        const { text, bytes } = serializedBytes(req.payload);
        if (bytes > this.limits.maxItemBytes) {
          throw pubsubError(
            "modify",
            "not-acceptable",
            "payload-too-big",
            `Items are at most ${this.limits.maxItemBytes} bytes`,
          );
        }
        payload = text;
        payloadBytes = bytes;
      }
      const stored = await this.getNode(scope, req.node);
      let node = stored && editable(stored);
      let created = false;
      if (!node) {
        if (!req.autoCreate) throw pubsubError("cancel", "item-not-found");
        checkNodeName(req.node);
        if (req.options) checkOptionsKnown(req.options);
        await this.#checkRoom(scope, req.publisher);
        const config = req.options
          ? this.#applyForm(this.options.defaults, req.options)
          : { ...this.options.defaults };
        node = this.#newNode(req.node, req.publisher, config);
        created = true;
      } else {
        if (!mayPublish(node, req.publisher)) throw pubsubError("auth", "forbidden");
        if (req.options) checkPreconditions(node.config, req.options, this.limits);
      }
      if (req.hasItem !== undefined) checkEventType(node.config, req.hasItem, !!req.payload);
      if (req.id !== undefined && (req.id === "" || req.id.length > 256)) {
        throw pubsubError("modify", "bad-request", "item-forbidden", "Invalid item id");
      }
      const id = req.id ?? randomId(16);
      const item: StoredItem = { id, payload, publisher: req.publisher, when: Date.now() };
      const bytes = payloadBytes;
      const replaced = node.items.indexOf(id);
      if (node.config.persist_items) await this.#checkQuota(scope, node, replaced, bytes);
      // A republished id becomes the newest (§7.1.2 "overwrite").
      if (replaced >= 0) removeItemAt(node, replaced);
      pushItem(node, id, bytes);
      const evicted = await this.#trim(scope, node);
      if (node.config.persist_items) await storage.setItem(scope, node.name, id, item);
      else {
        // Not persisted: only the notification carries it. An item of that
        // id stored while the node persisted goes too: left behind it would
        // be stored but no longer counted against the quota.
        const at = node.items.indexOf(id);
        if (at >= 0) removeItemAt(node, at);
        if (replaced >= 0) await storage.setItem(scope, node.name, id, undefined);
      }
      await storage.setNode(scope, node.name, node);
      return { node, item, created, evicted };
    });
  }

  /** XEP-0060 §7.2: retract an item; returns the node. */
  retract(scope: string, name: string, id: string, requester: string): Promise<StoredNode> {
    return this.#run(scope, async () => {
      const node = editable(await this.requireNode(scope, name));
      const item = await this.#storage.item(scope, name, id);
      const at = node.items.indexOf(id);
      if (!item || at < 0) throw pubsubError("cancel", "item-not-found");
      const aff = node.affiliations[requester];
      // §4.1: an outcast deletes nothing, its own earlier items included.
      const own = item.publisher === requester && aff !== "outcast";
      if (aff !== "owner" && aff !== "publisher" && !own) {
        throw pubsubError("auth", "forbidden");
      }
      removeItemAt(node, at);
      await this.#storage.setItem(scope, name, id, undefined);
      await this.#storage.setNode(scope, name, node);
      return node;
    });
  }

  /** XEP-0060 §8.5: purge every item; returns the node. */
  purge(scope: string, name: string): Promise<StoredNode> {
    return this.#run(scope, async () => {
      const node = editable(await this.requireNode(scope, name));
      for (const id of node.items) await this.#storage.setItem(scope, name, id, undefined);
      node.items = [];
      node.bytes = [];
      await this.#storage.setNode(scope, name, node);
      return node;
    });
  }

  /** XEP-0060 §8.4: delete the node and its items; returns what it was. */
  deleteNode(scope: string, name: string): Promise<StoredNode> {
    return this.#run(scope, async () => {
      const node = await this.requireNode(scope, name);
      for (const id of node.items) await this.#storage.setItem(scope, name, id, undefined);
      await this.#storage.setNode(scope, name, undefined);
      return node;
    });
  }

  /**
   * XEP-0060 §6.5: items, newest first: those named by `ids` (unknown ones
   * skipped), else the newest `max` (all when absent). With `maxBytes`, no
   * more than the first items whose payloads fit in it (at least one): a
   * subset, as §6.5.4 allows, so one small request cannot make the server
   * read and send hundreds of megabytes.
   */
  async items(
    scope: string,
    node: StoredNode,
    query: { ids?: string[]; max?: number; maxBytes?: number } = {},
  ): Promise<StoredItem[]> {
    // Named ids each at most once: a request repeating one id thousands of
    // times must not get (and load) that item thousands of times.
    const held = query.ids ? new Set(node.items) : undefined;
    let wanted = query.ids
      ? [...new Set(query.ids)].filter((id) => held!.has(id))
      : [...node.items].reverse().slice(0, query.max ?? node.items.length);
    if (query.maxBytes !== undefined) wanted = withinBytes(node, wanted, query.maxBytes);
    const out: StoredItem[] = [];
    for (const id of wanted) {
      const item = await this.#storage.item(scope, node.name, id);
      if (item) out.push(item);
    }
    return out;
  }

  async lastItem(scope: string, node: StoredNode): Promise<StoredItem | undefined> {
    const id = node.items.at(-1);
    return id === undefined ? undefined : await this.#storage.item(scope, node.name, id);
  }

  /** XEP-0060 §8.9: set affiliations (owners cannot remove the last owner). */
  setAffiliations(
    scope: string,
    name: string,
    changes: [string, Affiliation][],
  ): Promise<StoredNode> {
    return this.#run(scope, async () => {
      const node = editable(await this.requireNode(scope, name));
      const next = { ...node.affiliations };
      for (const [jid, aff] of changes) {
        if (aff === "none") delete next[jid];
        else next[jid] = aff;
      }
      if (!Object.values(next).includes("owner")) throw pubsubError("modify", "not-acceptable");
      if (Object.keys(next).length > 10000) throw pubsubError("wait", "resource-constraint");
      node.affiliations = next;
      await this.#storage.setNode(scope, name, node);
      return node;
    });
  }

  /**
   * Several subscription changes (an owner's, §8.8.2) with one copy and
   * one write: see subscription_changes.ts. Unsubscribing a JID that is
   * not subscribed is no change. The changes that took effect are passed
   * to `applied`; on a refusal those stay stored, and the refusal is thrown.
   */
  setSubscriptions(
    scope: string,
    name: string,
    changes: readonly [string, boolean][],
    applied: (changes: [string, boolean][]) => void = () => {},
  ): Promise<StoredNode> {
    return this.#run(scope, async () => {
      const node = editable(await this.requireNode(scope, name));
      const outcome = applySubscriptionChanges(node.subscriptions, changes, this.limits);
      if (outcome.applied.length > 0) {
        node.subscriptions = outcome.subscriptions;
        await this.#storage.setNode(scope, name, node);
        applied(outcome.applied);
      }
      if (outcome.refusal) throw outcome.refusal;
      return node;
    });
  }

  /**
   * XEP-0060 §6.1 / §6.2: subscribe or unsubscribe `jid`, under the same
   * limits as an owner's batch of changes (subscription_changes.ts).
   */
  setSubscription(scope: string, name: string, jid: string, on: boolean): Promise<StoredNode> {
    return this.#run(scope, async () => {
      const node = editable(await this.requireNode(scope, name));
      if (!on && !(jid in node.subscriptions)) {
        throw pubsubError("cancel", "unexpected-request", "not-subscribed");
      }
      const outcome = applySubscriptionChanges(node.subscriptions, [[jid, on]], this.limits);
      if (outcome.refusal) throw outcome.refusal;
      // Already subscribed: stored again as it is.
      node.subscriptions = outcome.subscriptions;
      await this.#storage.setNode(scope, name, node);
      return node;
    });
  }
}
