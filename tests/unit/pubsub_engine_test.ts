import assert from "node:assert/strict";
import { MemoryStorage } from "../../src/storage/memory.ts";
import {
  accessError,
  DEFAULT_CONFIG,
  mapStorage,
  notificationTargets,
  PubsubEngine,
  type Relations,
} from "../../src/modules/pubsub/engine/index.ts";
import { StanzaError } from "../../src/core/errors.ts";
import type { Json } from "../../src/storage/types.ts";
import { el } from "../../src/xml/element.ts";
import { PEP_SUBSCRIPTION_LIMITS } from "../../src/modules/pubsub/pep/service.ts";

function engine(maxItemsPerNode = 10, maxNodes = 3) {
  const db = new MemoryStorage();
  return new PubsubEngine({
    storage: mapStorage(db.map("h", "n"), db.map("h", "i")),
    limits: { maxNodes, maxItemsPerNode, maxItemBytes: 200 },
    defaults: { ...DEFAULT_CONFIG, access_model: "presence" },
  });
}

const payload = (n: number) => el("v", { xmlns: "ex" }, String(n));
const ALICE = "alice@h";
const opts = (pairs: [string, string][]) => new Map(pairs.map(([k, v]) => [k, [v]]));

async function rejects(p: Promise<unknown>, condition: string, app?: string) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof StanzaError);
    assert.equal(e.condition, condition);
    if (app) assert.equal(e.appCondition?.name, app);
    return true;
  });
}

Deno.test("engine: auto-create, generated ids, max_items eviction, newest first", async () => {
  const e = engine();
  const r1 = await e.publish("alice", {
    node: "n",
    payload: payload(1),
    publisher: ALICE,
    autoCreate: true,
  });
  assert.equal(r1.created, true);
  assert.ok(r1.item.id.length > 0);
  assert.equal(r1.node.affiliations[ALICE], "owner");
  // Default max_items 1: the second publish evicts the first.
  const r2 = await e.publish("alice", {
    node: "n",
    id: "b",
    payload: payload(2),
    publisher: ALICE,
  });
  assert.deepEqual(r2.evicted, [r1.item.id]);
  await e.configureNode("alice", "n", opts([["pubsub#max_items", "max"]]));
  for (const id of ["c", "d", "b"]) {
    await e.publish("alice", { node: "n", id, payload: payload(3), publisher: ALICE });
  }
  const node = await e.requireNode("alice", "n");
  assert.deepEqual(node.items, ["c", "d", "b"]);
  assert.deepEqual((await e.items("alice", node)).map((i) => i.id), ["b", "d", "c"]);
  assert.deepEqual((await e.items("alice", node, { max: 1 })).map((i) => i.id), ["b"]);
  assert.deepEqual((await e.items("alice", node, { ids: ["c", "zz"] })).map((i) => i.id), ["c"]);
  // "max" is the cap: 10 kept of 12.
  for (let i = 0; i < 12; i++) {
    await e.publish("alice", { node: "n", id: "x" + i, publisher: ALICE });
  }
  assert.equal((await e.requireNode("alice", "n")).items.length, 10);
  await rejects(
    e.configureNode("alice", "n", opts([["pubsub#max_items", "11"]])),
    "not-acceptable",
  );
});

Deno.test("engine: publish-options preconditions (XEP-0223)", async () => {
  const e = engine();
  const open = opts([["pubsub#access_model", "open"]]);
  const r = await e.publish("a", { node: "n", publisher: ALICE, options: open, autoCreate: true });
  assert.equal(r.node.config.access_model, "open");
  await e.publish("a", { node: "n", publisher: ALICE, options: open });
  await rejects(
    e.publish("a", {
      node: "n",
      publisher: ALICE,
      options: opts([["pubsub#access_model", "presence"]]),
    }),
    "conflict",
    "precondition-not-met",
  );
  await rejects(
    e.publish("a", { node: "n", publisher: ALICE, options: opts([["pubsub#nonsense", "1"]]) }),
    "conflict",
    "precondition-not-met",
  );
  // Booleans compare by value; max_items "max" equals the cap.
  await e.publish("a", {
    node: "n",
    publisher: ALICE,
    options: opts([["pubsub#persist_items", "true"]]),
  });
  await e.configureNode("a", "n", opts([["pubsub#max_items", "10"]]));
  await e.publish("a", {
    node: "n",
    publisher: ALICE,
    options: opts([["pubsub#max_items", "max"]]),
  });
});

Deno.test("engine: retract, purge, delete, limits", async () => {
  const e = engine(10, 2);
  await e.createNode("a", "n", ALICE, opts([["pubsub#max_items", "5"]]));
  await rejects(e.createNode("a", "n", ALICE), "conflict");
  await e.publish("a", { node: "n", id: "1", publisher: ALICE });
  await e.publish("a", { node: "n", id: "2", publisher: ALICE });
  await rejects(e.retract("a", "n", "1", "eve@h"), "forbidden");
  await e.retract("a", "n", "1", ALICE);
  await rejects(e.retract("a", "n", "1", ALICE), "item-not-found");
  assert.deepEqual((await e.requireNode("a", "n")).items, ["2"]);
  await e.purge("a", "n");
  assert.deepEqual((await e.requireNode("a", "n")).items, []);
  await e.createNode("a", "m", ALICE);
  await rejects(e.createNode("a", "o", ALICE), "resource-constraint");
  await rejects(
    e.publish("a", { node: "p", publisher: ALICE, autoCreate: true }),
    "resource-constraint",
  );
  await rejects(
    e.publish("a", { node: "n", publisher: ALICE, payload: el("big", {}, "x".repeat(300)) }),
    "not-acceptable",
    "payload-too-big",
  );
  await rejects(e.publish("a", { node: "n", publisher: "eve@h" }), "forbidden");
  await e.deleteNode("a", "n");
  assert.equal(await e.getNode("a", "n"), undefined);
  await rejects(e.publish("a", { node: "n", publisher: ALICE }), "item-not-found");
});

Deno.test("engine: access models and notification targets", async () => {
  const e = engine();
  const relations: Relations = {
    subscribedToPresence: (jid) => Promise.resolve(jid === "bob@h"),
    rosterGroups: (jid) => Promise.resolve(jid === "carol@h" ? ["friends"] : []),
  };
  const node = await e.createNode("a", "n", ALICE);
  const can = async (jid: string) => (await accessError(node, jid, relations)) === undefined;
  assert.deepEqual([await can("bob@h"), await can("carol@h"), await can(ALICE)], [
    true,
    false,
    true,
  ]);
  node.config.access_model = "roster";
  node.config.roster_groups_allowed = ["friends"];
  assert.deepEqual([await can("bob@h"), await can("carol@h")], [false, true]);
  node.config.access_model = "whitelist";
  node.affiliations["dave@h"] = "member";
  assert.deepEqual([await can("carol@h"), await can("dave@h")], [false, true]);
  node.config.access_model = "open";
  node.affiliations["eve@h"] = "outcast";
  assert.deepEqual([await can("zed@x"), await can("eve@h")], [true, false]);
  node.config.access_model = "presence";
  const targets = await notificationTargets(node, ["bob@h/1", "bob@h/2", "eve@h/1", "zed@x/1"], {
    ...relations,
  });
  assert.deepEqual(targets, ["bob@h/1", "bob@h/2"]);
});

Deno.test("engine: the scope's byte quota counts replaced and evicted items once", async () => {
  const db = new MemoryStorage();
  const e = new PubsubEngine({
    storage: mapStorage(db.map("h", "n"), db.map("h", "i")),
    limits: { maxNodes: 5, maxItemsPerNode: 10, maxItemBytes: 200, maxBytesPerScope: 250 },
    defaults: { ...DEFAULT_CONFIG },
  });
  const big = el("b", { xmlns: "ex" }, "x".repeat(100)); // ~120 bytes serialized
  await e.publish("a", { node: "n", id: "1", payload: big, publisher: ALICE, autoCreate: true });
  // Same id again replaces; max_items 1 on "n" evicts: still one item's worth.
  await e.publish("a", { node: "n", id: "1", payload: big, publisher: ALICE });
  await e.publish("a", { node: "n", id: "2", payload: big, publisher: ALICE });
  await e.publish("a", { node: "m", id: "1", payload: big, publisher: ALICE, autoCreate: true });
  await rejects(
    e.publish("a", { node: "o", payload: big, publisher: ALICE, autoCreate: true }),
    "resource-constraint",
  );
  await e.purge("a", "m");
  await e.publish("a", { node: "o", payload: big, publisher: ALICE, autoCreate: true });
});

Deno.test("engine: explicit subscriptions per bare JID capped (too-many-subscriptions)", async () => {
  const db = new MemoryStorage();
  const e = new PubsubEngine({
    storage: mapStorage(db.map("h", "n"), db.map("h", "i")),
    limits: { maxNodes: 3, maxItemsPerNode: 10, maxItemBytes: 200, maxSubscriptionsPerJid: 2 },
    defaults: { ...DEFAULT_CONFIG, access_model: "open" },
  });
  await e.publish("alice", { node: "n", payload: payload(1), publisher: ALICE, autoCreate: true });
  await e.setSubscription("alice", "n", "bob@h/1", true);
  await e.setSubscription("alice", "n", "bob@h/2", true);
  await e.setSubscription("alice", "n", "bob@h/2", true); // again: no new slot
  await rejects(
    e.setSubscription("alice", "n", "bob@h/3", true),
    "policy-violation",
    "too-many-subscriptions",
  );
  await e.setSubscription("alice", "n", "carol@h/1", true);
});

Deno.test("engine: nodes per owner capped in a shared scope (create and auto-create)", async () => {
  const db = new MemoryStorage();
  const e = new PubsubEngine({
    storage: mapStorage(db.map("h", "n"), db.map("h", "i")),
    limits: { maxNodes: 10, maxItemsPerNode: 10, maxItemBytes: 200, maxNodesPerOwner: 2 },
    defaults: { ...DEFAULT_CONFIG, access_model: "open" },
  });
  await e.createNode("", "a1", ALICE);
  await e.publish("", { node: "a2", payload: payload(1), publisher: ALICE, autoCreate: true });
  await rejects(e.createNode("", "a3", ALICE), "resource-constraint");
  await rejects(
    e.publish("", { node: "a3", payload: payload(1), publisher: ALICE, autoCreate: true }),
    "resource-constraint",
  );
  // Others still may.
  await e.createNode("", "b1", "bob@h");
  await e.deleteNode("", "a1");
  await e.createNode("", "a3", ALICE);
});

Deno.test("engine: items named again and again are returned once each", async () => {
  const db = new MemoryStorage();
  const e = new PubsubEngine({
    storage: mapStorage(db.map("h", "n"), db.map("h", "i")),
    limits: { maxNodes: 3, maxItemsPerNode: 10, maxItemBytes: 200 },
    defaults: { ...DEFAULT_CONFIG, max_items: 10 },
  });
  await e.publish("a", {
    node: "n",
    id: "x",
    payload: payload(1),
    publisher: ALICE,
    autoCreate: true,
  });
  await e.publish("a", { node: "n", id: "y", payload: payload(2), publisher: ALICE });
  const node = (await e.getNode("a", "n"))!;
  const ids = [...Array(5000).fill("y"), "nope", "x", "y"];
  assert.deepEqual((await e.items("a", node, { ids })).map((i) => i.id), ["y", "x"]);
});

Deno.test("engine: create limits are checked without reading every node each time", async () => {
  const db = new MemoryStorage();
  const storage = mapStorage(db.map("h", "n"), db.map("h", "i"));
  let scans = 0;
  const counted = { ...storage, nodes: (scope: string) => (scans++, storage.nodes(scope)) };
  const e = new PubsubEngine({
    storage: counted,
    limits: { maxNodes: 50, maxItemsPerNode: 10, maxItemBytes: 200, maxNodesPerOwner: 3 },
    defaults: { ...DEFAULT_CONFIG, access_model: "open" },
  });
  for (let i = 0; i < 3; i++) await e.createNode("", `a${i}`, ALICE);
  for (let i = 0; i < 40; i++) await e.createNode("", `u${i}`, `user${i}@h`);
  // Refused at the limit, again and again: still no scan.
  for (let i = 0; i < 20; i++) {
    await rejects(e.createNode("", `x${i}`, ALICE), "resource-constraint");
  }
  assert.equal(scans, 1, "one read of the scope's nodes, then counts");
  // Ownership moves: alice gives a0 to bob (and leaves it), so she may create one more.
  await e.setAffiliations("", "a0", [["bob@h", "owner"], [ALICE, "none"]]);
  await e.createNode("", "a3", ALICE);
  await rejects(e.createNode("", "a4", ALICE), "resource-constraint");
  // Deleting frees the owner's share and the scope's.
  await e.deleteNode("", "a1");
  await e.createNode("", "a4", ALICE);
  // The total limit: 3 + 40 + 1 (a3) = 44 nodes now, - a1 + a4 = 44; bob may make 2 more (he has a0).
  for (let i = 0; i < 2; i++) await e.createNode("", `b${i}`, "bob@h");
  for (let i = 0; i < 4; i++) await e.createNode("", `c${i}`, `carol${i}@h`);
  await rejects(e.createNode("", "d", "dave@h"), "resource-constraint"); // 50 reached
  // Listing is served from memory too (node_cache.ts).
  assert.equal((await e.listNodes("")).length, 50);
  assert.equal(scans, 1);
  // Changed behind the engine's back (an account removed): forget, and it reads again.
  await db.deleteUser("h", "");
  e.forget("");
  await e.createNode("", "fresh", "dave@h");
  assert.deepEqual((await e.listNodes("")).map((n) => n.name), ["fresh"]);
  assert.equal(scans, 2);
});

Deno.test("engine: after a storage failure the scope's nodes are read again, not trusted", async () => {
  const db = new MemoryStorage();
  const storage = mapStorage(db.map("h", "n"), db.map("h", "i"));
  let failItems = false;
  const flaky = {
    ...storage,
    setItem: (...args: Parameters<typeof storage.setItem>) =>
      failItems ? Promise.reject(new Error("disk on fire")) : storage.setItem(...args),
  };
  const e = new PubsubEngine({
    storage: flaky,
    limits: { maxNodes: 5, maxItemsPerNode: 10, maxItemBytes: 200 },
    defaults: { ...DEFAULT_CONFIG, access_model: "open" },
  });
  await e.publish("a", {
    node: "n",
    id: "1",
    payload: payload(1),
    publisher: ALICE,
    autoCreate: true,
  });
  failItems = true;
  await assert.rejects(
    e.publish("a", { node: "n", id: "2", payload: payload(2), publisher: ALICE }),
    /disk on fire/,
  );
  failItems = false;
  // The failed publish changed the cached node before storage refused: not kept.
  assert.deepEqual((await e.requireNode("a", "n")).items, ["1"]);
});

Deno.test("engine: roster groups allowed are as long as roster groups may be, no longer", async () => {
  const e = engine();
  // A group name past the roster's bound could never match; kept, it would
  // let one configure form put ~100 × 2.5 KB into every cached node.
  const long = "g".repeat(1024);
  await rejects(
    e.createNode("a", "n", ALICE, new Map([["pubsub#roster_groups_allowed", ["ok", long]]])),
    "not-acceptable",
  );
  const node = await e.createNode(
    "a",
    "n",
    ALICE,
    new Map([["pubsub#roster_groups_allowed", ["ok", "g".repeat(1023)]]]),
  );
  assert.deepEqual(node.config.roster_groups_allowed, ["ok", "g".repeat(1023)]);
  await rejects(
    e.configureNode("a", "n", new Map([["pubsub#roster_groups_allowed", [long]]])),
    "not-acceptable",
  );
});

Deno.test("engine: an owner's subscription changes are one write, limits as for one, earlier ones kept", async () => {
  const db = new MemoryStorage();
  const storage = mapStorage(db.map("h", "n"), db.map("h", "i"));
  let writes = 0;
  const e = new PubsubEngine({
    storage: { ...storage, setNode: (...a) => (writes++, storage.setNode(...a)) },
    limits: { maxNodes: 3, maxItemsPerNode: 10, maxItemBytes: 200, maxSubscriptionsPerJid: 2 },
    defaults: DEFAULT_CONFIG,
  });
  await e.createNode("", "n", ALICE);
  const many = Array.from({ length: 200 }, (_, i) => [`u${i}@h`, true] as [string, boolean]);
  writes = 0;
  let applied: [string, boolean][] = [];
  let node = await e.setSubscriptions("", "n", many, (a) => applied = a);
  assert.equal(writes, 1);
  assert.equal(Object.keys(node.subscriptions).length, 200);
  assert.equal(applied.length, 200);
  // No-ops are left out; a third resource of one JID stops the batch, what came before stays.
  writes = 0;
  await rejects(
    e.setSubscriptions("", "n", [
      ["u0@h", true],
      ["u1@h", false],
      ["gone@h", false],
      ["b@h/1", true],
      ["b@h/2", true],
      ["b@h/3", true],
      ["u2@h", false],
    ], (a) => applied = a),
    "policy-violation",
  );
  assert.equal(writes, 1);
  assert.deepEqual(applied, [["u1@h", false], ["b@h/1", true], ["b@h/2", true]]);
  node = (await e.getNode("", "n"))!;
  assert.ok(!("u1@h" in node.subscriptions) && "u2@h" in node.subscriptions);
  assert.ok("b@h/2" in node.subscriptions && !("b@h/3" in node.subscriptions));
});

Deno.test("engine: nodes stored with sizes by item id are read as bytes, counted, and stored anew", async () => {
  const db = new MemoryStorage();
  const nodes = db.map("h", "n");
  const storage = mapStorage(nodes, db.map("h", "i"));
  const e = new PubsubEngine({
    storage,
    limits: { maxNodes: 5, maxItemsPerNode: 10, maxItemBytes: 200, maxBytesPerScope: 250 },
    defaults: { ...DEFAULT_CONFIG, max_items: 10 },
  });
  // As stored before `bytes`: one item named like an Object.prototype property.
  await nodes.set("a", "old", {
    name: "old",
    config: { ...DEFAULT_CONFIG, max_items: 10 } as unknown as Json,
    affiliations: { [ALICE]: "owner" },
    subscriptions: {},
    items: ["constructor", "x"],
    sizes: { constructor: 100, x: 100 },
    created: 0,
  });
  for (const id of ["constructor", "x"]) {
    await storage.setItem("a", "old", id, { id, payload: "", publisher: ALICE, when: 0 });
  }
  const read = (await e.getNode("a", "old"))!;
  assert.deepEqual(read.bytes, [100, 100]);
  assert.equal("sizes" in read, false);
  // 200 of 250 bytes taken: 60 more do not fit, replacing "constructor" (100) does.
  const big = el("b", { xmlns: "ex" }, "x".repeat(40));
  await rejects(
    e.publish("a", { node: "old", id: "y", payload: big, publisher: ALICE }),
    "resource-constraint",
  );
  await e.publish("a", { node: "old", id: "constructor", payload: big, publisher: ALICE });
  const stored = (await nodes.get("a", "old")) as Record<string, Json>;
  assert.equal("sizes" in stored, false);
  assert.deepEqual(stored.items, ["x", "constructor"]);
  assert.equal((stored.bytes as number[])[0], 100);
  // Retract and purge keep ids and bytes together.
  await e.retract("a", "old", "x", ALICE);
  assert.deepEqual((await e.getNode("a", "old"))!.items, ["constructor"]);
  assert.equal((await e.getNode("a", "old"))!.bytes!.length, 1);
  await e.purge("a", "old");
  assert.deepEqual((await e.getNode("a", "old"))!.bytes, []);
});

Deno.test("engine: PEP's explicit subscriptions per node capped at 1000 (node records stay small)", async () => {
  const db = new MemoryStorage();
  const e = new PubsubEngine({
    storage: mapStorage(db.map("h", "n"), db.map("h", "i")),
    limits: { maxNodes: 3, maxItemsPerNode: 10, maxItemBytes: 200, ...PEP_SUBSCRIPTION_LIMITS },
    defaults: { ...DEFAULT_CONFIG, access_model: "open" },
  });
  await e.createNode("alice", "n", ALICE);
  const changes: [string, boolean][] = [];
  for (let u = 0; u < 100; u++) {
    for (let r = 0; r < 10; r++) changes.push([`u${u}@remote.example/${r}`, true]);
  }
  await e.setSubscriptions("alice", "n", changes);
  await rejects(
    e.setSubscription("alice", "n", "late@remote.example/r", true),
    "policy-violation",
    "too-many-subscriptions",
  );
});
