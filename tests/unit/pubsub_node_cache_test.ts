/**
 * The engine's node cache (node_cache.ts) and node counts (scope_tally.ts):
 * the bound's accounting, reads racing writes, earlier readers' snapshots,
 * and counts read across a forget().
 */
import assert from "node:assert/strict";
import { MemoryStorage } from "../../src/storage/memory.ts";
import {
  DEFAULT_CONFIG,
  mapStorage,
  PubsubEngine,
  type PubsubStorage,
  type StoredNode,
} from "../../src/modules/pubsub/engine/index.ts";
import { cachedNodes } from "../../src/modules/pubsub/engine/node_cache.ts";
import { el } from "../../src/xml/element.ts";

const ALICE = "alice@h";

const record = (name: string, owner = ALICE): StoredNode => ({
  name,
  config: { ...DEFAULT_CONFIG },
  affiliations: { [owner]: "owner" },
  subscriptions: {},
  items: [],
  created: 0,
});

/** Storage over a memory database, counting reads of whole scopes. */
function countingStorage() {
  const db = new MemoryStorage();
  const inner = mapStorage(db.map("h", "n"), db.map("h", "i"));
  const reads = new Map<string, number>();
  const storage: PubsubStorage = {
    ...inner,
    nodes(scope) {
      reads.set(scope, (reads.get(scope) ?? 0) + 1);
      return inner.nodes(scope);
    },
  };
  return { db, inner, storage, reads };
}

async function fill(storage: PubsubStorage, scope: string, n: number) {
  for (let i = 0; i < n; i++) await storage.setNode(scope, `n${i}`, record(`n${i}`));
}

Deno.test("node cache: nodes held stay counted right through loads, writes, evictions and forgets", async () => {
  const { inner, storage, reads } = countingStorage();
  const cache = cachedNodes(storage, 10);
  await fill(inner, "a", 4);
  await fill(inner, "b", 4);
  await fill(inner, "c", 4);
  await fill(inner, "huge", 11);
  const readsOf = (s: string) => reads.get(s) ?? 0;

  await cache.nodes("a");
  await cache.nodes("b");
  assert.equal(cache.held(), 8);
  await cache.nodes("c"); // 12 > 10: "a", least recently used, goes
  assert.equal(cache.held(), 8);
  await cache.nodes("b");
  await cache.nodes("c");
  assert.equal(readsOf("b"), 1, "b still held");
  await cache.nodes("a");
  assert.equal(readsOf("a"), 2, "a was evicted, read again");
  assert.equal(cache.held(), 8, "b went for a");

  // Larger than the whole bound: served, never kept, nothing else lost for it.
  assert.equal((await cache.nodes("huge")).length, 11);
  assert.equal((await cache.nodes("huge")).length, 11);
  assert.equal(readsOf("huge"), 2);
  assert.equal(cache.held(), 8);

  // Writes to a held scope: added, replaced, deleted, deleting what is absent.
  await cache.setNode("a", "x", record("x"));
  assert.equal(cache.held(), 9);
  await cache.setNode("a", "x", record("x"));
  assert.equal(cache.held(), 9);
  await cache.setNode("a", "x", undefined);
  await cache.setNode("a", "never", undefined);
  assert.equal(cache.held(), 8);
  // Writes to a scope not held change nothing held.
  await cache.setNode("b", "y", record("y"));
  assert.equal(cache.held(), 8);

  // Writes alone may grow a scope past the bound: it goes, never below zero.
  for (let i = 0; i < 7; i++) await cache.setNode("c", `g${i}`, record(`g${i}`));
  assert.ok(cache.held() <= 10, `held ${cache.held()}`);
  assert.ok(cache.held() >= 0);

  // Forgetting held, unheld and unknown scopes, twice.
  for (const s of ["a", "b", "c", "huge", "nobody", "a"]) cache.forget(s);
  assert.equal(cache.held(), 0);
  // Many rounds of churn: the count always equals the nodes of the scopes held.
  for (let round = 0; round < 50; round++) {
    const scope = ["a", "b", "c", "huge"][round % 4];
    await cache.nodes(scope);
    if (round % 3 === 0) await cache.setNode(scope, `r${round}`, record(`r${round}`));
    if (round % 5 === 0) await cache.setNode(scope, `r${round - 3}`, undefined);
    if (round % 7 === 0) cache.forget(["a", "b", "c"][round % 3]);
    assert.ok(cache.held() >= 0 && cache.held() <= 10, `round ${round}: held ${cache.held()}`);
  }
  for (const s of ["a", "b", "c", "huge"]) cache.forget(s);
  assert.equal(cache.held(), 0, "nothing held, nothing left over");
});

Deno.test("node cache: a read begun before a write to an evicted scope is not kept", async () => {
  const { inner, storage } = countingStorage();
  // Reads of "a" take their snapshot at once and answer when let go, as a
  // slow reader would.
  let release: () => void = () => {};
  let gated = false;
  const slow: PubsubStorage = {
    ...storage,
    nodes(scope) {
      const read = storage.nodes(scope);
      if (!gated || scope !== "a") return read;
      return new Promise((resolve) => release = () => resolve(read));
    },
  };
  const cache = cachedNodes(slow, 3);
  await fill(inner, "a", 1);
  await fill(inner, "b", 3);
  // An operation reads a's node ...
  const before = (await cache.node("a", "n0"))!;
  // ... another scope's use evicts "a" ...
  await cache.nodes("b");
  // ... a reader starts reading "a" ...
  gated = true;
  const reading = cache.nodes("a");
  // ... and the operation writes its change.
  await cache.setNode("a", "n0", { ...before, items: ["new"] });
  release();
  assert.deepEqual((await reading).map((n) => n.items), [[]], "the reader's own snapshot");
  gated = false;
  assert.deepEqual((await cache.node("a", "n0"))!.items, ["new"], "the cache has the write");
});

function engine(limits: Partial<{ maxNodes: number; maxNodesPerOwner: number }> = {}) {
  const { db, inner, storage, reads } = countingStorage();
  let failNodes = false;
  const flaky: PubsubStorage = {
    ...storage,
    setNode: (...args) =>
      failNodes ? Promise.reject(new Error("disk on fire")) : storage.setNode(...args),
  };
  const e = new PubsubEngine({
    storage: flaky,
    limits: { maxNodes: 5, maxItemsPerNode: 3, maxItemBytes: 200, ...limits },
    defaults: { ...DEFAULT_CONFIG, access_model: "open" },
  });
  return { e, db, inner, reads, failing: (on: boolean) => failNodes = on };
}

const opts = (pairs: [string, string][]) => new Map(pairs.map(([k, v]) => [k, [v]]));

Deno.test("engine: a node read earlier is not changed by any later operation", async () => {
  const { e } = engine();
  await e.configureNode(
    "s",
    (await e.createNode("s", "n", ALICE)).name,
    opts([["pubsub#max_items", "2"]]),
  );
  const pub = (id: string) =>
    e.publish("s", { node: "n", id, payload: el("v", { xmlns: "x" }, id), publisher: ALICE });
  await pub("1");
  await pub("2");

  const held: [StoredNode, StoredNode][] = [];
  const snap = async () => {
    const node = (await e.getNode("s", "n"))!;
    const listed = (await e.listNodes("s")).find((n) => n.name === "n")!;
    held.push([node, structuredClone(node)], [listed, structuredClone(listed)]);
  };
  const steps: (() => Promise<unknown>)[] = [
    () => pub("3"), // evicts "1" (max_items 2)
    () => pub("2"), // republished: moves to newest
    () => e.configureNode("s", "n", opts([["pubsub#max_items", "1"], ["pubsub#title", "t"]])),
    () => e.retract("s", "n", "2", ALICE),
    () => pub("4"),
    () => e.purge("s", "n"),
    () => e.setAffiliations("s", "n", [["bob@h", "publisher"]]),
    () => e.setAffiliations("s", "n", [["bob@h", "owner"], [ALICE, "none"]]),
    () => e.setSubscription("s", "n", "carol@h/r", true),
    () => e.setSubscription("s", "n", "carol@h/r", true),
    () => e.setSubscription("s", "n", "carol@h/r", false),
    () => e.deleteNode("s", "n"),
  ];
  for (const step of steps) {
    await snap();
    await step();
    for (const [node, copy] of held) assert.deepEqual(node, copy);
  }
});

Deno.test("engine: node counts after deletion, ownership moves, failed creates and a forget", async () => {
  const { e, db, failing } = engine({ maxNodes: 4, maxNodesPerOwner: 2 });
  await e.createNode("", "a1", ALICE);
  await e.createNode("", "a2", ALICE);
  await assert.rejects(e.createNode("", "a3", ALICE), /resource-constraint|At most/);
  // A create refused by storage is not counted (nor one refused by a bad form).
  await e.deleteNode("", "a2");
  failing(true);
  await assert.rejects(e.createNode("", "a2", ALICE), /disk on fire/);
  failing(false);
  await assert.rejects(e.createNode("", "bad", ALICE, opts([["pubsub#max_items", "x"]])));
  await e.createNode("", "a2", ALICE);
  await assert.rejects(e.createNode("", "a3", ALICE));
  // An auto-create refused by storage: nothing counted either.
  failing(true);
  await assert.rejects(
    e.publish("", { node: "p", publisher: "bob@h", autoCreate: true }),
    /disk on fire/,
  );
  failing(false);
  await e.publish("", { node: "p", publisher: "bob@h", autoCreate: true });
  // alice hands a1 to bob: she may create one more, bob none, and the scope is full.
  await e.setAffiliations("", "a1", [["bob@h", "owner"], [ALICE, "none"]]);
  await e.createNode("", "a3", ALICE);
  await assert.rejects(e.createNode("", "b1", "carol@h"), /At most 4 nodes/);
  await e.deleteNode("", "p"); // bob keeps a1
  await e.createNode("", "b1", "bob@h");
  await assert.rejects(e.createNode("", "c1", "carol@h"), /At most 4 nodes/);
  await e.deleteNode("", "a2");
  await assert.rejects(e.createNode("", "b2", "bob@h"), /At most 2 nodes each/);
  await e.createNode("", "c1", "carol@h");
  // Everything removed behind the engine's back, then forgotten: all counts reset.
  await db.deleteUser("h", "");
  e.forget("");
  for (const name of ["x1", "x2"]) await e.createNode("", name, ALICE);
  await assert.rejects(e.createNode("", "x3", ALICE), /At most 2 nodes each/);
});
