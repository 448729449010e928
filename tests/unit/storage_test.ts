/**
 * One behavioural suite run against every driver, so the memory driver
 * used by other tests cannot drift from the SQLite one; then the
 * SQLite-only properties (persistence, batching, WAL).
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import type { Json, StorageDriver } from "../../src/storage/types.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { SqliteStorage } from "../../src/storage/sqlite.ts";
import { openStorage } from "../../src/storage/open.ts";
import {
  migrationsFor,
  SCHEMA_VERSION,
  SCHEMA_VERSION_TABLE,
  schemaFor,
} from "../../src/storage/schema.ts";

/** One event-loop turn: lets the SQLite driver's batch commit. */
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

interface Opened {
  driver: StorageDriver;
  /** Close and open the same database again (memory: undefined). */
  reopen?: () => Promise<StorageDriver>;
  cleanup: () => Promise<void>;
}

const harnesses: { name: string; open: () => Promise<Opened> }[] = [
  {
    name: "memory",
    open: () => {
      const driver = new MemoryStorage();
      return Promise.resolve({ driver, cleanup: () => driver.close() });
    },
  },
  {
    name: "sqlite",
    open: async () => {
      const dir = await Deno.makeTempDir({ prefix: "parley-storage-" });
      const file = join(dir, "test.sqlite");
      const opened: Opened = {
        driver: new SqliteStorage(file),
        reopen: async () => {
          await opened.driver.close();
          return opened.driver = new SqliteStorage(file);
        },
        cleanup: async () => {
          await opened.driver.close();
          await Deno.remove(dir, { recursive: true });
        },
      };
      return opened;
    },
  },
];

type Case = (o: Opened) => Promise<void>;
const cases: Record<string, Case> = {};

function storageTest(name: string, fn: Case): void {
  cases[name] = fn;
}

/** Appends items with the given (id, when, with) and returns the driver's store. */
async function seed(d: StorageDriver, rows: [string, number, string?][], user = "alice") {
  const a = d.archive("example.com", "mam");
  for (const [id, when, w] of rows) await a.append(user, { id, when, with: w, value: { id } });
  return a;
}

const ids = (items: { id: string }[]) => items.map((i) => i.id);

storageTest("keyval get/set/delete", async ({ driver }) => {
  const kv = driver.keyval("example.com", "roster");
  assert.equal(await kv.get("alice"), undefined);
  await kv.set("alice", { items: [1, 2], ok: true, n: null });
  assert.deepEqual(await kv.get("alice"), { items: [1, 2], ok: true, n: null });
  await kv.set("alice", "replaced");
  assert.equal(await kv.get("alice"), "replaced");
  await kv.set("", 42); // host-wide data uses the empty user
  assert.equal(await kv.get(""), 42);
  await kv.set("alice", undefined);
  assert.equal(await kv.get("alice"), undefined);
  await kv.set("nobody", undefined); // deleting nothing is fine
  assert.equal(await kv.get(""), 42);
});

storageTest("map set/get/getAll/clear", async ({ driver }) => {
  const m = driver.map("example.com", "blocklist");
  assert.equal(await m.get("alice", "x"), undefined);
  assert.deepEqual(await m.getAll("alice"), new Map());
  await m.set("alice", "b@x", true);
  await m.set("alice", "a@x", { reason: "spam" });
  await m.set("alice", "a@x", { reason: "abuse" });
  await m.set("bob", "c@x", 1);
  assert.deepEqual(await m.get("alice", "a@x"), { reason: "abuse" });
  assert.deepEqual(
    await m.getAll("alice"),
    new Map<string, Json>([["a@x", { reason: "abuse" }], ["b@x", true]]),
  );
  await m.set("alice", "b@x", undefined);
  assert.deepEqual([...(await m.getAll("alice")).keys()], ["a@x"]);
  await m.clear("alice");
  assert.deepEqual(await m.getAll("alice"), new Map());
  assert.equal(await m.get("bob", "c@x"), 1);
});

storageTest(
  "map getPage: key order, from after the given key, at most the limit",
  async ({ driver }) => {
    const m = driver.map("example.com", "nodes");
    const other = driver.map("example.com", "other");
    for (const k of ["c", "a", "e", "b", "d"]) await m.set("alice", k, k.toUpperCase());
    await m.set("bob", "a", 1);
    await other.set("alice", "a", 2);
    assert.deepEqual(await m.getPage("alice", undefined, 2), [["a", "A"], ["b", "B"]]);
    assert.deepEqual(await m.getPage("alice", "b", 2), [["c", "C"], ["d", "D"]]);
    assert.deepEqual(await m.getPage("alice", "d", 2), [["e", "E"]]);
    assert.deepEqual(await m.getPage("alice", "e", 2), []);
    assert.deepEqual(await m.getPage("alice", "bb", 10), [["c", "C"], ["d", "D"], ["e", "E"]]);
    assert.deepEqual(await m.getPage("carol", undefined, 10), []);
    // The empty key is a key like any other, not "from the start".
    await m.set("alice", "", "empty");
    assert.deepEqual(await m.getPage("alice", undefined, 1), [["", "empty"]]);
    assert.deepEqual(await m.getPage("alice", "", 1), [["a", "A"]]);
    await assert.rejects(m.getPage("alice", undefined, 0), RangeError);
    await assert.rejects(m.getPage("alice", undefined, 1.5), RangeError);
  },
);

storageTest(
  "archive append: ids generated, unique, URL-safe; given ids kept",
  async ({ driver }) => {
    const a = driver.archive("example.com", "mam");
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const id = await a.append("alice", { value: i });
      assert.match(id, /^[A-Za-z0-9_-]{12,}$/);
      seen.add(id);
    }
    assert.equal(seen.size, 50);
    assert.equal(await a.append("alice", { id: "mine", value: "x" }), "mine");
    await assert.rejects(a.append("alice", { id: "mine", value: "y" }), /already exists/);
    // The same id in another user's archive is not a clash.
    assert.equal(await a.append("bob", { id: "mine", value: "z" }), "mine");
    const [item] = await a.find("alice", { ids: ["mine"] });
    assert.equal(item.value, "x");
    assert.equal(typeof item.when, "number");
    assert.equal("with" in item, false);
    assert.ok(Math.abs(item.when - Date.now()) < 60_000, "when defaults to now");
  },
);

storageTest("archive find: order by when then insertion; every filter", async ({ driver }) => {
  const a = await seed(driver, [
    ["m3", 300, "bob@x"],
    ["m1", 100, "bob@x"],
    ["m2", 200, "carol@x"],
    ["m4", 300, "carol@x"], // same time as m3: insertion order breaks the tie
    ["m5", 500, "bob@x"],
  ]);
  assert.deepEqual(ids(await a.find("alice")), ["m1", "m2", "m3", "m4", "m5"]);
  const [first] = await a.find("alice", { limit: 1 });
  assert.deepEqual(first, { id: "m1", when: 100, with: "bob@x", value: { id: "m1" } });
  assert.deepEqual(ids(await a.find("alice", { start: 200 })), ["m2", "m3", "m4", "m5"]);
  assert.deepEqual(ids(await a.find("alice", { end: 300 })), ["m1", "m2", "m3", "m4"]);
  assert.deepEqual(ids(await a.find("alice", { start: 200, end: 200 })), ["m2"]);
  assert.deepEqual(ids(await a.find("alice", { with: "bob@x" })), ["m1", "m3", "m5"]);
  assert.deepEqual(ids(await a.find("alice", { with: "bob@x/res" })), []);
  assert.deepEqual(ids(await a.find("alice", { with: "bob" })), []);
  assert.deepEqual(ids(await a.find("alice", { ids: ["m5", "m2", "zz"] })), ["m2", "m5"]);
  assert.deepEqual(ids(await a.find("alice", { ids: [] })), []);
  assert.deepEqual(ids(await a.find("alice", { after: "m3" })), ["m4", "m5"]);
  assert.deepEqual(ids(await a.find("alice", { before: "m4" })), ["m1", "m2", "m3"]);
  assert.deepEqual(ids(await a.find("alice", { after: "m1", before: "m5" })), ["m2", "m3", "m4"]);
  // after/before are positions in the whole archive, whatever else filters.
  assert.deepEqual(ids(await a.find("alice", { after: "m2", with: "bob@x" })), ["m3", "m5"]);
  assert.deepEqual(ids(await a.find("alice", { after: "nope" })), []);
  assert.deepEqual(ids(await a.find("alice", { before: "nope" })), []);
  assert.deepEqual(ids(await a.find("alice", { limit: 2 })), ["m1", "m2"]);
  assert.deepEqual(ids(await a.find("alice", { limit: 0 })), []);
  assert.deepEqual(ids(await a.find("alice", { reverse: true })), ["m5", "m4", "m3", "m2", "m1"]);
  assert.deepEqual(ids(await a.find("alice", { reverse: true, limit: 2 })), ["m5", "m4"]);
  assert.deepEqual(ids(await a.find("alice", { reverse: true, limit: 2, with: "carol@x" })), [
    "m4",
    "m2",
  ]);
  await assert.rejects(a.find("alice", { limit: -1 }), RangeError);
  assert.deepEqual(await a.find("nobody"), []);
});

storageTest("archive paging forwards with after and backwards with before", async ({ driver }) => {
  const rows: [string, number][] = [];
  for (let i = 0; i < 23; i++) rows.push([`i${String(i).padStart(2, "0")}`, 1000 + (i >> 1)]);
  const a = await seed(driver, rows);
  const all = rows.map(([id]) => id);
  const forward: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await a.find("alice", { after, limit: 5 });
    if (page.length === 0) break;
    assert.ok(forward.length < all.length, "paging forwards does not advance");
    forward.push(...ids(page));
    after = page[page.length - 1].id;
  }
  assert.deepEqual(forward, all);
  const backward: string[] = [];
  let before: string | undefined;
  for (;;) {
    const page = await a.find("alice", { before, limit: 5, reverse: true });
    if (page.length === 0) break;
    assert.ok(backward.length < all.length, "paging backwards does not advance");
    backward.push(...ids(page));
    before = page[page.length - 1].id;
  }
  assert.deepEqual(backward, all.toReversed());
});

storageTest("archive count honours the same query as find", async ({ driver }) => {
  const a = await seed(driver, [["m1", 1, "b@x"], ["m2", 2, "c@x"], ["m3", 3, "b@x"]]);
  assert.equal(await a.count("alice"), 3);
  assert.equal(await a.count("alice", { with: "b@x" }), 2);
  assert.equal(await a.count("alice", { start: 2, end: 3 }), 2);
  assert.equal(await a.count("alice", { after: "m1" }), 2);
  assert.equal(await a.count("alice", { before: "m3", with: "b@x" }), 1);
  assert.equal(await a.count("alice", { ids: ["m1", "m3"] }), 2);
  assert.equal(await a.count("alice", { limit: 2 }), 2);
  assert.equal(await a.count("nobody"), 0);
});

storageTest("archive delete with and without a query", async ({ driver }) => {
  const a = await seed(driver, [
    ["m1", 1, "b@x"],
    ["m2", 2, "c@x"],
    ["m3", 3, "b@x"],
    ["m4", 4, "c@x"],
    ["m5", 5, "b@x"],
  ]);
  await seed(driver, [["o1", 1, "b@x"]], "bob");
  assert.equal(await a.delete("alice", { with: "c@x" }), 2);
  assert.deepEqual(ids(await a.find("alice")), ["m1", "m3", "m5"]);
  assert.equal(await a.delete("alice", { end: 1 }), 1);
  assert.equal(await a.delete("alice", { reverse: true, limit: 1 }), 1); // the newest
  assert.deepEqual(ids(await a.find("alice")), ["m3"]);
  assert.equal(await a.delete("alice", { after: "nope" }), 0);
  // A deleted id can be used again.
  await a.append("alice", { id: "m1", when: 9, value: null });
  assert.equal(await a.delete("alice"), 2);
  assert.equal(await a.count("alice"), 0);
  assert.equal(await a.delete("alice"), 0);
  assert.equal(await a.count("bob"), 1);
});

storageTest(
  "archive expire: every user's items before the cutoff, this host and store only",
  async ({ driver }) => {
    const a = await seed(driver, [["a1", 10, "b@x"], ["a2", 20, "b@x"], ["a3", 30, "c@x"]]);
    await seed(driver, [["b1", 5], ["b2", 19], ["b3", 20]], "bob");
    await driver.archive("example.com", "offline").append("alice", { id: "o", when: 1, value: 1 });
    await driver.archive("other.org", "mam").append("alice", { id: "h", when: 1, value: 1 });
    assert.equal(await a.expire(20), 3); // a1, b1, b2: "before" is exclusive
    assert.deepEqual(ids(await a.find("alice")), ["a2", "a3"]);
    assert.deepEqual(ids(await a.find("bob")), ["b3"]);
    assert.equal(await driver.archive("example.com", "offline").count("alice"), 1);
    assert.equal(await driver.archive("other.org", "mam").count("alice"), 1);
    assert.equal(await a.expire(20), 0);
    await assert.rejects(a.expire(1.5), TypeError);
    // An expired id is free again, and paging still works around the gap.
    await a.append("alice", { id: "a1", when: 40, value: null });
    assert.deepEqual(ids(await a.find("alice", { after: "a2" })), ["a3", "a1"]);
    assert.equal(await a.expire(Number.MAX_SAFE_INTEGER), 4);
    assert.equal(await a.count("alice"), 0);
  },
);

storageTest("archive expire of many rows returns the total", async ({ driver }) => {
  const a = driver.archive("example.com", "mam");
  const pending: Promise<string>[] = [];
  for (let i = 0; i < 2000; i++) {
    pending.push(a.append(`u${i % 7}`, { when: i, value: i }));
  }
  await Promise.all(pending);
  assert.equal(await a.expire(1500), 1500);
  assert.equal(
    (await Promise.all([0, 1, 2, 3, 4, 5, 6].map((u) => a.count(`u${u}`))))
      .reduce((x, y) => x + y),
    500,
  );
  assert.equal((await a.find("u0", { limit: 1 }))[0].value, 1505); // 1505 % 7 === 0
});

storageTest("deleteUser removes every store kind of that user only", async ({ driver }) => {
  for (const host of ["example.com", "other.org"]) {
    for (const user of ["alice", "bob"]) {
      await driver.keyval(host, "roster").set(user, { user });
      await driver.keyval(host, "vcard").set(user, "v");
      await driver.map(host, "blocklist").set(user, "k", 1);
      await driver.archive(host, "mam").append(user, { value: 1 });
      await driver.archive(host, "offline").append(user, { value: 2 });
    }
  }
  await driver.deleteUser("example.com", "alice");
  const h = "example.com";
  assert.equal(await driver.keyval(h, "roster").get("alice"), undefined);
  assert.equal(await driver.keyval(h, "vcard").get("alice"), undefined);
  assert.deepEqual(await driver.map(h, "blocklist").getAll("alice"), new Map());
  assert.equal(await driver.archive(h, "mam").count("alice"), 0);
  assert.equal(await driver.archive(h, "offline").count("alice"), 0);
  // Bob on the same host and Alice on another host are untouched.
  assert.deepEqual(await driver.keyval(h, "roster").get("bob"), { user: "bob" });
  assert.equal(await driver.map(h, "blocklist").get("bob", "k"), 1);
  assert.equal(await driver.archive(h, "mam").count("bob"), 1);
  assert.deepEqual(await driver.keyval("other.org", "roster").get("alice"), { user: "alice" });
  assert.equal(await driver.archive("other.org", "offline").count("alice"), 1);
});

storageTest("hosts and stores are isolated", async ({ driver }) => {
  await driver.keyval("a.example", "s").set("u", "a");
  await driver.keyval("b.example", "s").set("u", "b");
  await driver.keyval("a.example", "t").set("u", "t");
  assert.equal(await driver.keyval("a.example", "s").get("u"), "a");
  assert.equal(await driver.keyval("b.example", "s").get("u"), "b");
  assert.equal(await driver.keyval("a.example", "t").get("u"), "t");
  await driver.map("a.example", "s").set("u", "k", 1);
  assert.equal(await driver.map("b.example", "s").get("u", "k"), undefined);
  assert.equal(await driver.map("a.example", "t").get("u", "k"), undefined);
  await driver.map("a.example", "t").clear("u");
  assert.equal(await driver.map("a.example", "s").get("u", "k"), 1);
  await driver.archive("a.example", "s").append("u", { id: "x", value: 1 });
  await driver.archive("b.example", "s").append("u", { id: "x", value: 2 });
  assert.equal(await driver.archive("a.example", "t").count("u"), 0);
  assert.equal(await driver.archive("b.example", "s").delete("u"), 1);
  assert.equal(await driver.archive("a.example", "s").count("u"), 1);
  // Separator characters in names cannot make two scopes collide.
  await driver.keyval("h", "s,x").set("u", 1);
  assert.equal(await driver.keyval("h", "s").get("u,x"), undefined);
});

storageTest("stored values are isolated from caller mutation", async ({ driver }) => {
  const kv = driver.keyval("example.com", "s");
  const value = { list: [1, 2], nested: { a: "b" } };
  await kv.set("u", value);
  value.list.push(3);
  value.nested.a = "changed";
  const got = (await kv.get("u")) as typeof value;
  assert.deepEqual(got, { list: [1, 2], nested: { a: "b" } });
  got.list.push(99);
  assert.deepEqual(await kv.get("u"), { list: [1, 2], nested: { a: "b" } });

  const m = driver.map("example.com", "s");
  const mv = { n: [1] };
  await m.set("u", "k", mv);
  mv.n.push(2);
  ((await m.getAll("u")).get("k") as typeof mv).n.push(3);
  assert.deepEqual(await m.get("u", "k"), { n: [1] });

  const a = driver.archive("example.com", "s");
  const av = { body: ["hi"] };
  await a.append("u", { id: "1", value: av });
  av.body.push("mutated");
  ((await a.find("u"))[0].value as typeof av).body.push("again");
  assert.deepEqual((await a.find("u"))[0].value, { body: ["hi"] });
});

storageTest("unencodable values are refused and the batch survives", async (o) => {
  const kv = o.driver.keyval("example.com", "s");
  const a = o.driver.archive("example.com", "s");
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  // Several writes in one turn, with failures among them.
  const results = await Promise.allSettled([
    kv.set("u1", "kept"),
    kv.set("u2", cyclic as unknown as Json),
    a.append("u", { id: "x", value: 1 }),
    a.append("u", { id: "y", value: 10n as unknown as Json }),
    a.append("u", { id: "x", value: 2 }), // duplicate id: fails in the database
    a.append("u", { when: 1.5, value: 3 }),
    a.append("u", { id: "z", value: 4 }),
    kv.set("u3", "also kept"),
  ]);
  assert.deepEqual(results.map((r) => r.status), [
    "fulfilled",
    "rejected",
    "fulfilled",
    "rejected",
    "rejected",
    "rejected",
    "fulfilled",
    "fulfilled",
  ]);
  const check = async (d: StorageDriver) => {
    assert.equal(await d.keyval("example.com", "s").get("u1"), "kept");
    assert.equal(await d.keyval("example.com", "s").get("u2"), undefined);
    assert.equal(await d.keyval("example.com", "s").get("u3"), "also kept");
    const items = await d.archive("example.com", "s").find("u");
    assert.deepEqual(items.map((i) => [i.id, i.value]), [["x", 1], ["z", 4]]);
  };
  await check(o.driver);
  if (o.reopen) await check(await o.reopen());
});

storageTest("closed storage refuses work", async (o) => {
  await o.driver.close();
  await assert.rejects(o.driver.keyval("h", "s").get("u"), /closed/);
  await assert.rejects(o.driver.archive("h", "s").append("u", { value: 1 }), /closed/);
  await o.driver.close(); // idempotent
});

for (const h of harnesses) {
  for (const [name, fn] of Object.entries(cases)) {
    Deno.test(`storage[${h.name}]: ${name}`, async () => {
      const o = await h.open();
      try {
        await fn(o);
      } finally {
        await o.cleanup();
      }
    });
  }
}

// ---- SQLite only.

async function withSqlite(fn: (file: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "parley-sqlite-" });
  try {
    await fn(join(dir, "db.sqlite"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("sqlite: data persists across close and reopen", () =>
  withSqlite(async (file) => {
    let d = new SqliteStorage(file);
    await d.keyval("h", "s").set("u", { a: 1 });
    await d.map("h", "m").set("u", "k", [1]);
    await d.archive("h", "a").append("u", { id: "i", when: 5, with: "b@x", value: "v" });
    await d.close();
    d = new SqliteStorage(file);
    try {
      assert.deepEqual(await d.keyval("h", "s").get("u"), { a: 1 });
      assert.deepEqual(await d.map("h", "m").get("u", "k"), [1]);
      assert.deepEqual(await d.archive("h", "a").find("u"), [
        { id: "i", when: 5, with: "b@x", value: "v" },
      ]);
    } finally {
      await d.close();
    }
  }));

Deno.test("sqlite: writes of one turn commit together after the turn", () =>
  withSqlite(async (file) => {
    const d = new SqliteStorage(file);
    const other = new DatabaseSync(file);
    try {
      const a = d.archive("h", "mam");
      const pending: Promise<string>[] = [];
      for (let i = 0; i < 1000; i++) pending.push(a.append("u", { when: i, value: { i } }));
      await Promise.all(pending);
      // Same connection: visible; another connection: not yet committed.
      assert.equal(await a.count("u"), 1000);
      const countOther = () =>
        Number(other.prepare("SELECT total(n) AS n FROM archive_chunk").get()!.n);
      assert.equal(countOther(), 0);
      await nextTurn();
      assert.equal(countOther(), 1000);
    } finally {
      other.close();
      await d.close();
    }
  }));

Deno.test("sqlite: 1000 appends in one turn survive close and reopen", () =>
  withSqlite(async (file) => {
    let d = new SqliteStorage(file);
    const a = d.archive("h", "mam");
    for (let i = 0; i < 1000; i++) a.append("u", { id: `i${i}`, when: i, value: i });
    await d.close(); // still in the same turn: close must commit
    d = new SqliteStorage(file);
    try {
      const items = await d.archive("h", "mam").find("u");
      assert.equal(items.length, 1000);
      assert.deepEqual(items[999], { id: "i999", when: 999, value: 999 });
    } finally {
      await d.close();
    }
  }));

Deno.test("sqlite: expire runs in bounded chunks, one per turn, through its index", () =>
  withSqlite(async (file) => {
    const d = new SqliteStorage(file);
    try {
      const a = d.archive("h", "mam");
      for (let i = 0; i < 3000; i++) a.append(`u${i % 50}`, { when: i, value: i });
      let turns = 0;
      let expiring = true;
      const tick = () => {
        turns++;
        if (expiring && turns < 1000) setImmediate(tick);
      };
      setImmediate(tick);
      const n = await a.expire(2600);
      expiring = false;
      assert.equal(n, 2600);
      // Other work ran between the chunks: the loop was not held.
      assert.ok(turns >= 5, `only ${turns} turns while expiring`);
      const db = new DatabaseSync(file);
      try {
        // Schema v3: the store's owners through archive_expiry; v4: then
        // each owner's old chunks through archive_chunk_when.
        const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT id FROM archive_owner
          WHERE host = ? AND store = ? AND id > ? ORDER BY id LIMIT 500`).all("h", "mam", 0);
        assert.match(String(plan.map((r) => r.detail)), /archive_expiry/);
        const perOwner = db.prepare(`EXPLAIN QUERY PLAN SELECT seq, n FROM archive_chunk
          WHERE owner = ? AND first_when < ? AND last_when < ? LIMIT 250`).all(1, 1, 1);
        assert.match(String(perOwner.map((r) => r.detail)), /archive_chunk_when/);
      } finally {
        db.close();
      }
    } finally {
      await d.close();
    }
  }));

Deno.test("sqlite: group commit while busy; a large batch still commits after its turn", () =>
  withSqlite(async (file) => {
    // An interval no test run reaches: what commits below is not the timer.
    const d = new SqliteStorage(file, { commitIntervalMs: 60_000 });
    const other = new DatabaseSync(file);
    try {
      const a = d.archive("h", "mam");
      const countOther = () =>
        Number(other.prepare("SELECT total(n) AS n FROM archive_chunk").get()!.n);
      await a.append("u", { value: 1 });
      await nextTurn();
      assert.equal(countOther(), 1); // quiet: committed after the turn
      await a.append("u", { value: 2 });
      await nextTurn();
      assert.equal(countOther(), 1); // busy: waits for the interval
      assert.equal(await a.count("u"), 2); // the writing connection sees it
      const pending: Promise<string>[] = [];
      for (let i = 0; i < 5000; i++) pending.push(a.append("u", { value: i }));
      await Promise.all(pending);
      await nextTurn();
      assert.equal(countOther(), 5002); // too large to wait
    } finally {
      other.close();
      await d.close();
    }
  }));

Deno.test("sqlite: a worker checkpoints the WAL into the database file", () =>
  withSqlite(async (file) => {
    const d = new SqliteStorage(file);
    try {
      const before = (await Deno.stat(file)).size;
      const a = d.archive("h", "mam");
      for (let i = 0; i < 2000; i++) a.append("u", { value: "x".repeat(500) });
      d.flush();
      // Far below the main connection's own threshold: only the worker
      // copies these pages into the file.
      let size = before;
      for (let i = 0; i < 100 && size <= before + 1_000_000; i++) {
        await new Promise((r) => setTimeout(r, 50));
        size = (await Deno.stat(file)).size;
      }
      assert.ok(size > before + 1_000_000, `database file ${before} -> ${size} bytes`);
    } finally {
      await d.close();
    }
  }));

Deno.test("sqlite: a version 1 database is upgraded in place", () =>
  withSqlite(async (file) => {
    const db = new DatabaseSync(file);
    db.exec(SCHEMA_VERSION_TABLE);
    for (const s of migrationsFor("sqlite", 0).filter((m) => m.version === 1)[0].statements) {
      db.exec(s);
    }
    db.exec("INSERT INTO schema_version (version, applied_at) VALUES (1, 0)");
    db.exec(`INSERT INTO archive (host, "user", store, id, "when", with_jid, value)
      VALUES ('h', 'u', 'mam', 'old', 1, NULL, '"kept"')`);
    db.close();
    const d = new SqliteStorage(file);
    try {
      assert.deepEqual(await d.archive("h", "mam").find("u"), [{
        id: "old",
        when: 1,
        value: "kept",
      }]);
    } finally {
      await d.close();
    }
    const check = new DatabaseSync(file);
    try {
      const versions = check.prepare("SELECT version FROM schema_version ORDER BY version").all();
      assert.deepEqual(versions.map((r) => r.version), [1, SCHEMA_VERSION]);
      const idx = check.prepare("SELECT name FROM sqlite_master WHERE name = 'archive_expiry'")
        .get();
      assert.ok(idx);
    } finally {
      check.close();
    }
  }));

Deno.test("sqlite: WAL mode and schema version", () =>
  withSqlite(async (file) => {
    const d = new SqliteStorage(file);
    await d.close();
    const again = new SqliteStorage(file); // a second open must not re-migrate
    await again.close();
    const db = new DatabaseSync(file);
    try {
      assert.equal(db.prepare("PRAGMA journal_mode").get()!.journal_mode, "wal");
      const versions = db.prepare("SELECT version FROM schema_version").all();
      assert.deepEqual(versions.map((r) => r.version), [SCHEMA_VERSION]);
      // A database from a newer Parley is refused rather than misread.
      db.exec("INSERT INTO schema_version (version, applied_at) VALUES (999, 0)");
    } finally {
      db.close();
    }
    assert.throws(() => new SqliteStorage(file), /newer/);
  }));

Deno.test("schema: dialects differ only in the marked places", () => {
  const sqlite = schemaFor("sqlite");
  const pg = schemaFor("postgres");
  assert.equal(sqlite.length, pg.length);
  assert.ok(sqlite.some((s) => s.includes("AUTOINCREMENT")));
  assert.ok(sqlite.some((s) => s.includes("WITHOUT ROWID")));
  assert.ok(pg.every((s) => !s.includes("AUTOINCREMENT") && !s.includes("WITHOUT ROWID")));
  assert.ok(pg.some((s) => s.includes("GENERATED ALWAYS AS IDENTITY")));
  assert.ok([...sqlite, ...pg].every((s) => !s.includes("{{")));
  // The SQLite rendering is valid SQLite.
  const db = new DatabaseSync(":memory:");
  for (const s of sqlite) db.exec(s);
  db.close();
});

Deno.test("openStorage: sqlite file inside dataDir (created), or memory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-open-" });
  try {
    const dataDir = join(dir, "nested", "data");
    const d = openStorage({ dataDir, storage: { driver: "sqlite", path: "parley.sqlite" } });
    assert.equal(d.name, "sqlite");
    await d.keyval("h", "s").set("u", 1);
    await d.close();
    assert.ok((await Deno.stat(join(dataDir, "parley.sqlite"))).isFile);
    const m = openStorage({ dataDir, storage: { driver: "memory", path: "ignored" } });
    assert.equal(m.name, "memory");
    await m.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
