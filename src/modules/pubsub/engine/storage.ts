/**
 * The engine's persistence: two map stores of the host, one for nodes and
 * one for items, both keyed by scope (a PEP account's username, or "" for
 * a service's own nodes). Deleting an account clears its scope in both,
 * as the storage driver's deleteUser removes every store's keys for it.
 */
import type { Json, MapStore } from "../../../storage/types.ts";
import type { StoredItem, StoredNode } from "./types.ts";

export interface PubsubStorage {
  node(scope: string, name: string): Promise<StoredNode | undefined>;
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
      const all = await nodes.getAll(scope);
      return [...all.values()].filter((v) => v && typeof v === "object") as unknown as StoredNode[];
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
