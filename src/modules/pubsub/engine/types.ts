/**
 * The data the publish-subscribe engine keeps: nodes (configuration,
 * affiliations, subscriptions, item order) and items. Plain JSON, so the
 * storage adapter writes them as they are.
 */

export type AccessModel = "open" | "presence" | "roster" | "whitelist" | "authorize";
export type PublishModel = "publishers" | "subscribers" | "open";
export type SendLastPublished = "never" | "on_sub" | "on_sub_and_presence";
export type Affiliation = "owner" | "publisher" | "publish-only" | "member" | "none" | "outcast";

/** A node's configuration (XEP-0060 §16.4.4 `pubsub#node_config`, without the prefix). */
export interface NodeConfig {
  access_model: AccessModel;
  publish_model: PublishModel;
  /** A number, or "max": the server's largest (XEP-0060 §12.14 `max`). */
  max_items: number | "max";
  persist_items: boolean;
  deliver_payloads: boolean;
  deliver_notifications: boolean;
  notify_retract: boolean;
  notify_delete: boolean;
  notify_config: boolean;
  send_last_published_item: SendLastPublished;
  /** Roster groups allowed under the `roster` access model. */
  roster_groups_allowed: string[];
  notification_type: "headline" | "normal";
  title: string;
  type: string;
}

export interface StoredNode {
  name: string;
  config: NodeConfig;
  /** Bare JID → affiliation; JIDs not listed are "none". */
  affiliations: Record<string, Affiliation>;
  /** JID (bare or full) → "subscribed": explicit subscriptions (XEP-0060 §6.1). */
  subscriptions: Record<string, "subscribed">;
  /** Item ids, oldest first. */
  items: string[];
  /**
   * Payload bytes of each item, in the order of `items`, for the scope's
   * quota (absent in nodes stored before it; their items count 0). Not a
   * record by item id, as nodes stored before kept them (`sizes`, read
   * into this by storage.ts): parsing an object of 20 random keys was 80 %
   * of parsing a node record, an array of numbers costs little.
   */
  bytes?: number[];
  created: number;
}

export interface StoredItem {
  id: string;
  /** The payload element, serialized; "" for an item without payload. */
  payload: string;
  /** Bare JID of the publisher. */
  publisher: string;
  /** Milliseconds since the epoch. */
  when: number;
}

/** Limits a service enforces; PEP and the pubsub service each pass their config. */
export interface EngineLimits {
  /** Nodes per scope (a PEP account, or the whole service). */
  maxNodes: number;
  /** Largest max_items a node may have; what "max" means. */
  maxItemsPerNode: number;
  /** Largest serialized item payload, in bytes. */
  maxItemBytes: number;
  /** Payload bytes all items of a scope may take together (undefined: no quota). */
  maxBytesPerScope?: number;
  /** Nodes one owner may create in a scope shared by many (undefined: no cap but maxNodes). */
  maxNodesPerOwner?: number;
  /** Subscriptions a node may have (undefined: 10000, refused with resource-constraint). */
  maxSubscriptionsPerNode?: number;
  /** Explicit subscriptions one bare JID's resources may hold on a node (undefined: no cap). */
  maxSubscriptionsPerJid?: number;
}
