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
 * 20 items (1.3 kB each: the per-item sizes are most of the parse): ~20 µs
 * a record, so a page holds the event loop ~5 ms
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

export function mapStorage(nodes: MapStore, items: MapStore): PubsubStorage {
  return {
    async node(scope, name) {
      const v = await nodes.get(scope, name);
      return v && typeof v === "object" ? v as unknown as StoredNode : undefined;
    },
    async nodes(scope) {
      const out: StoredNode[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await nodes.getPage(scope, after, NODE_PAGE);
        for (const [, v] of page) {
          if (v && typeof v === "object") out.push(v as unknown as StoredNode);
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
