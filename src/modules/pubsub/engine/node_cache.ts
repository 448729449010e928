/**
 * Node records of recently used scopes, kept in memory in front of the
 * engine's storage. Listing a scope read and parsed every node record
 * from storage (SQLite is synchronous): 300 ms for a pubsub service with
 * 10 000 nodes of 20 items, on every disco#items or "my subscriptions"
 * request, which anyone may send. With the scope cached, listing walks
 * objects in memory.
 *
 * The engine is the only writer of a scope while the server runs (its
 * operations on one scope run one after another), so writing through
 * keeps the cache right; the one write that bypasses it, removing an
 * account's data, calls `forget`. Items are not cached (they are read one
 * at a time). Bounded by nodes held, not scopes (a PEP scope holds a few
 * nodes, the service's thousands): the least recently used scopes go
 * first, and a scope larger than the whole bound is not kept.
 *
 * The first read of a large scope is itself long (storage.ts reads it in
 * pages, a turn of the event loop between them): its readers share it
 * (`loading`), and a write or forget landing anywhere in it, even between
 * two pages, keeps it out of the cache just as one landing before it
 * answered; a write after it is applied to the cached copy.
 */
import type { StoredNode } from "./types.ts";
import type { PubsubStorage } from "./storage.ts";

/** Node records held per engine: the pubsub service's default maxNodes, twice. */
const DEFAULT_MAX_NODES = 20_000;

export interface CachedStorage extends PubsubStorage {
  forget(scope: string): void;
  /** Node records held now (for tests of the bound). */
  held(): number;
}

export function cachedNodes(
  storage: PubsubStorage,
  maxNodes = DEFAULT_MAX_NODES,
): CachedStorage {
  /** Scope → node name → record: every node of the scope. */
  const scopes = new Map<string, Map<string, StoredNode>>();
  /** Loads in progress, so concurrent readers of one scope share a read. */
  const loading = new Map<string, Promise<Map<string, StoredNode>>>();
  /** Nodes held, as of each scope's last touch. */
  let held = 0;
  const sizes = new Map<string, number>();

  const drop = (scope: string) => {
    held -= sizes.get(scope) ?? 0;
    sizes.delete(scope);
    scopes.delete(scope);
  };

  /** (Re)inserts the scope as most recently used, then evicts the least used past the bound. */
  const touch = (scope: string, nodes: Map<string, StoredNode>) => {
    drop(scope);
    if (nodes.size > maxNodes) return;
    scopes.set(scope, nodes);
    sizes.set(scope, nodes.size);
    held += nodes.size;
    while (held > maxNodes) drop(scopes.keys().next().value!);
  };

  const load = (scope: string): Promise<Map<string, StoredNode>> => {
    const cached = scopes.get(scope);
    if (cached) {
      touch(scope, cached);
      return Promise.resolve(cached);
    }
    let pending = loading.get(scope);
    if (!pending) {
      pending = storage.nodes(scope).then((list) => {
        const nodes = new Map(list.map((n) => [n.name, n]));
        // A forget() or write while reading (between pages, too): what was
        // read may be stale, keep it out.
        if (loading.get(scope) === pending) touch(scope, nodes);
        return nodes;
      }).finally(() => {
        if (loading.get(scope) === pending) loading.delete(scope);
      });
      loading.set(scope, pending);
    }
    return pending;
  };

  return {
    async node(scope, name) {
      return (await load(scope)).get(name);
    },
    async nodes(scope) {
      return [...(await load(scope)).values()];
    },
    async setNode(scope, name, node) {
      await storage.setNode(scope, name, node);
      // A read of the scope begun before this write (the scope evicted
      // since the operation read it) returns what it read, but must not be
      // kept: it lacks this write.
      loading.delete(scope);
      const nodes = scopes.get(scope);
      if (!nodes) return;
      if (node) nodes.set(name, node);
      else nodes.delete(name);
      // Counted again, and the bound enforced: writes alone may grow a scope.
      touch(scope, nodes);
    },
    item: (scope, node, id) => storage.item(scope, node, id),
    setItem: (scope, node, id, item) => storage.setItem(scope, node, id, item),
    forget(scope) {
      drop(scope);
      loading.delete(scope);
    },
    held: () => held,
  };
}
