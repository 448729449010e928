/**
 * Reading a whole scope's nodes (engine/storage.ts `nodes`, behind the
 * node cache) goes in bounded pages with turns of the event loop between
 * them, never touches items, is shared by concurrent readers, and a write
 * landing between two pages is not lost to the cache.
 */
import assert from "node:assert/strict";
import { MemoryStorage } from "../../src/storage/memory.ts";
import type { MapStore } from "../../src/storage/types.ts";
import {
  DEFAULT_CONFIG,
  mapStorage,
  NODE_PAGE,
  PubsubEngine,
  type StoredNode,
} from "../../src/modules/pubsub/engine/index.ts";
import { cachedNodes } from "../../src/modules/pubsub/engine/node_cache.ts";
import { el } from "../../src/xml/element.ts";

const ALICE = "alice@h";

/** A map store that counts its calls by name, with a hook after each page read. */
function counting(inner: MapStore, afterPage: (after: string | undefined) => Promise<void>) {
  const calls = new Map<string, number>();
  const count = (name: string) => calls.set(name, (calls.get(name) ?? 0) + 1);
  const limits: number[] = [];
  const store: MapStore = {
    get: (u, k) => (count("get"), inner.get(u, k)),
    set: (u, k, v) => (count("set"), inner.set(u, k, v)),
    getAll: (u) => (count("getAll"), inner.getAll(u)),
    clear: (u) => (count("clear"), inner.clear(u)),
    async getPage(u, after, limit) {
      count("getPage");
      limits.push(limit);
      const page = await inner.getPage(u, after, limit);
      await afterPage(after);
      return page;
    },
  };
  return { store, calls, limits };
}

const record = (name: string): StoredNode => ({
  name,
  config: { ...DEFAULT_CONFIG, access_model: "open" },
  affiliations: { [ALICE]: "owner" },
  subscriptions: {},
  items: [],
  created: 0,
});

Deno.test("pubsub: a scope's nodes are read in bounded pages, a turn between them, items untouched", async () => {
  const db = new MemoryStorage();
  const total = 3 * NODE_PAGE + 7;
  const nodes = counting(db.map("h", "n"), () => Promise.resolve());
  const items = counting(db.map("h", "i"), () => Promise.resolve());
  const storage = mapStorage(nodes.store, items.store);
  const engine = new PubsubEngine({
    storage,
    limits: { maxNodes: 2 * total, maxItemsPerNode: 5, maxItemBytes: 200 },
    defaults: { ...DEFAULT_CONFIG, access_model: "open" },
  });
  // Stored behind the engine (as after a restart), each node with items.
  for (let i = 0; i < total; i++) {
    const name = `n${String(i).padStart(4, "0")}`;
    await storage.setNode("", name, { ...record(name), items: ["a", "b"], bytes: [1, 1] });
    for (const id of ["a", "b"]) {
      await storage.setItem("", name, id, { id, payload: "<x/>", publisher: ALICE, when: 0 });
    }
  }
  nodes.calls.clear();
  items.calls.clear();

  // Turns of the event loop while the listing runs.
  let turns = 0;
  let listing = true;
  const tick = () => {
    turns++;
    if (listing) setImmediate(tick);
  };
  setImmediate(tick);
  // Two listings and a create at once: one read of the scope serves all.
  const [a, b] = await Promise.all([
    engine.listNodes(""),
    engine.listNodes(""),
    engine.createNode("", "zzz", ALICE),
  ]);
  listing = false;

  assert.equal(a.length, total);
  assert.equal(b.length, total);
  assert.deepEqual(a.map((n) => n.name), [...a.map((n) => n.name)].sort());
  assert.equal(nodes.calls.get("getAll"), undefined, "never the whole scope at once");
  assert.equal(nodes.calls.get("getPage"), 4, "one paged read, shared");
  assert.ok(nodes.limits.every((l) => l <= NODE_PAGE));
  assert.ok(turns >= 3, `the event loop turned between pages (${turns})`);
  assert.equal(items.calls.size, 0, "no item read to list nodes");
  assert.equal((await engine.listNodes("")).length, total + 1, "then served from memory");
  assert.equal(nodes.calls.get("getPage"), 4);
});

Deno.test("pubsub: a write between two pages of a read is not lost to the node cache", async () => {
  const db = new MemoryStorage();
  let hook: (after: string | undefined) => Promise<void> = () => Promise.resolve();
  const nodes = counting(db.map("h", "n"), (after) => hook(after));
  const storage = mapStorage(nodes.store, db.map("h", "i"));
  const cache = cachedNodes(storage, 10 * NODE_PAGE);
  const total = 2 * NODE_PAGE + 1;
  const name = (i: number) => `n${String(i).padStart(4, "0")}`;
  for (let i = 0; i < total; i++) await storage.setNode("s", name(i), record(name(i)));

  // After the first page: change a node it held, and one not read yet, and
  // delete one of each; then create one.
  const first = name(0);
  const later = name(total - 1);
  hook = async (after) => {
    if (after !== undefined) return;
    hook = () => Promise.resolve();
    await cache.setNode("s", first, { ...record(first), items: ["new"] });
    await cache.setNode("s", later, { ...record(later), items: ["new"] });
    await cache.setNode("s", name(1), undefined);
    await cache.setNode("s", name(total - 2), undefined);
    await cache.setNode("s", "zzz", record("zzz"));
  };
  const read = await cache.nodes("s");
  // The reader gets each node as it was when its page was read...
  assert.deepEqual(read.find((n) => n.name === first)!.items, []);
  assert.deepEqual(read.find((n) => n.name === later)!.items, ["new"]);
  // ... but what the cache keeps afterwards has every write.
  const now = await cache.nodes("s");
  assert.deepEqual((await cache.node("s", first))!.items, ["new"]);
  assert.deepEqual((await cache.node("s", later))!.items, ["new"]);
  assert.equal(await cache.node("s", name(1)), undefined);
  assert.equal(await cache.node("s", name(total - 2)), undefined);
  assert.ok(await cache.node("s", "zzz"));
  assert.equal(now.length, total - 2 + 1);
});

Deno.test("pubsub: nodes read in pages equal the nodes stored, whatever the count", async () => {
  for (const count of [0, 1, NODE_PAGE - 1, NODE_PAGE, NODE_PAGE + 1, 2 * NODE_PAGE]) {
    const db = new MemoryStorage();
    const storage = mapStorage(db.map("h", "n"), db.map("h", "i"));
    const names = Array.from({ length: count }, (_, i) => `n${String(i).padStart(4, "0")}`);
    for (const n of names) await storage.setNode("s", n, record(n));
    // Another scope's nodes stay out of it.
    await storage.setNode("t", "other", record("other"));
    assert.deepEqual((await storage.nodes("s")).map((n) => n.name), names, `${count} nodes`);
  }
  // And an item published through the engine leaves the listing as it was.
  const db = new MemoryStorage();
  const e = new PubsubEngine({
    storage: mapStorage(db.map("h", "n"), db.map("h", "i")),
    limits: { maxNodes: 5, maxItemsPerNode: 5, maxItemBytes: 200 },
    defaults: { ...DEFAULT_CONFIG, access_model: "open" },
  });
  await e.publish("s", {
    node: "p",
    payload: el("x", { xmlns: "urn:t" }),
    publisher: ALICE,
    autoCreate: true,
  });
  assert.deepEqual((await e.listNodes("s")).map((n) => n.name), ["p"]);
});
