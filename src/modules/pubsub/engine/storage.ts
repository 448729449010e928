/**
 * The engine's persistence: two map stores of the host, one for nodes and
 * one for items, both keyed by scope (a PEP account's username, or "" for
 * a service's own nodes). Deleting an account clears its scope in both,
 * as the storage driver's deleteUser removes every store's keys for it.
 *
 * A node record holds the node's configuration, affiliations and
 * subscriptions, and of its items only their ids and payload sizes; the
 * items themselves (payloads) are in the other store, read one at a time.
 * Reading every node of a scope (`nodes`) never touches the items store.
 */
import type { Json, MapStore } from "../../../storage/types.ts";
import { nextTurn } from "../../../util/next_turn.ts";
import type { StoredItem, StoredNode } from "./types.ts";

/**
 * Node records read per step of `nodes`. Measured on SQLite with nodes of
 * 20 items: ~6 µs a record read and parsed, so a page holds the event loop
 * 1–2 ms; ~20 µs for records still in the shape before `bytes` (5 ms)
 * (bench/results/2026-12-07-pubsub-cold-listing.md).
 */
export const NODE_PAGE = 256;

export interface PubsubStorage {
  node(scope: string, name: string): Promise<StoredNode | undefined>;
  /**
   * Every node of the scope, in name order. A service's scope holds
   * thousands: read in pages of NODE_PAGE with a turn of the event loop
   * between them, so the read is many short steps, not one long block.
   * A write during the read may or may not be seen (each record is read
   * whole); the node cache keeps no read that a write overlapped.
   */
  nodes(scope: string): Promise<StoredNode[]>;
  /** `undefined` deletes the node (its items are deleted separately). */
  setNode(scope: string, name: string, node: StoredNode | undefined): Promise<void>;
  item(scope: string, node: string, id: string): Promise<StoredItem | undefined>;
  setItem(scope: string, node: string, id: string, item: StoredItem | undefined): Promise<void>;
}

const itemKey = (node: string, id: string) => node + "\n" + id;

/** How nodes stored before `StoredNode.bytes` kept their items' sizes: by item id. */
interface LegacySizes {
  sizes?: Record<string, unknown>;
}

/**
 * A stored value as a node record, or undefined when it is none. A record
 * of the older shape has its `sizes` read into `bytes` (and dropped: the
 * next write of the node stores the new shape).
 */
function fromStored(v: Json | undefined): StoredNode | undefined {
  if (!v || typeof v !== "object" || Array.isArray(v)) return undefined;
  const node = v as unknown as StoredNode & LegacySizes;
  const sizes = node.sizes;
  if (sizes !== undefined) {
    delete node.sizes;
    if (node.bytes === undefined && sizes && typeof sizes === "object") {
      node.bytes = node.items.map((id) => {
        // Own keys only: an item may be called "constructor".
        const b = Object.hasOwn(sizes, id) ? sizes[id] : 0;
        return typeof b === "number" ? b : 0;
      });
    }
  }
  return node;
}

export function mapStorage(nodes: MapStore, items: MapStore): PubsubStorage {
  return {
    node: async (scope, name) => fromStored(await nodes.get(scope, name)),
    async nodes(scope) {
      const out: StoredNode[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await nodes.getPage(scope, after, NODE_PAGE);
        for (const [, v] of page) {
          const node = fromStored(v);
          if (node) out.push(node);
        }
        if (page.length < NODE_PAGE) return out;
        after = page[page.length - 1][0];
        await nextTurn();
      }
    },
    setNode: (scope, name, node) => nodes.set(scope, name, node as unknown as Json),
    async item(scope, node, id) {
      const v = await items.get(scope, itemKey(node, id));
      return v && typeof v === "object" ? v as unknown as StoredItem : undefined;
    },
    setItem: (scope, node, id, item) =>
      items.set(scope, itemKey(node, id), item as unknown as Json),
  };
}
