/** One page of an archive query (page.ts) against the memory driver. */
import assert from "node:assert/strict";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { StanzaError } from "../../src/core/errors.ts";
import { findPage } from "../../src/modules/mam/page.ts";
import type { ArchiveStore } from "../../src/storage/types.ts";

const limits = { defaultMax: 4, maxMax: 6, maxIndex: 10 };

async function store(n: number): Promise<ArchiveStore> {
  const s = new MemoryStorage().archive("h", "archive");
  // Two contacts alternating; several items share a timestamp (order is by insertion then).
  for (let i = 0; i < n; i++) {
    await s.append("u", {
      id: `i${i}`,
      when: 1000 + Math.floor(i / 3),
      with: i % 2 ? "b@x" : "a@x",
      value: `<message/>`,
    });
  }
  return s;
}

const ids = (p: { items: { id: string }[] }) => p.items.map((i) => i.id);

Deno.test("page: default and capped max; forwards complete only at the end", async () => {
  const s = await store(10);
  const p1 = await findPage(s, "u", {}, {}, limits);
  assert.deepEqual(ids(p1), ["i0", "i1", "i2", "i3"]);
  assert.equal(p1.count, 10);
  assert.equal(p1.index, 0);
  assert.equal(p1.complete, false);
  const p2 = await findPage(s, "u", {}, { max: 100, after: "i3" }, limits);
  assert.deepEqual(ids(p2), ["i4", "i5", "i6", "i7", "i8", "i9"]);
  assert.equal(p2.index, 4);
  assert.equal(p2.complete, true);
});

Deno.test("page: backwards from the end and from an id; within a with filter", async () => {
  const s = await store(10);
  const last = await findPage(s, "u", { with: "b@x" }, { max: 2, before: "" }, limits);
  assert.deepEqual(ids(last), ["i7", "i9"]);
  assert.equal(last.count, 5);
  assert.equal(last.index, 3);
  assert.equal(last.complete, false);
  const prev = await findPage(s, "u", { with: "b@x" }, { max: 2, before: "i7" }, limits);
  assert.deepEqual(ids(prev), ["i3", "i5"]);
  assert.equal(prev.index, 1);
  const first = await findPage(s, "u", { with: "b@x" }, { max: 2, before: "i3" }, limits);
  assert.deepEqual(ids(first), ["i1"]);
  assert.equal(first.index, 0);
  assert.equal(first.complete, true);
});

Deno.test("page: index, max 0, before-id bound combined with RSM before", async () => {
  const s = await store(10);
  const byIndex = await findPage(s, "u", {}, { max: 2, index: 7 }, limits);
  assert.deepEqual(ids(byIndex), ["i7", "i8"]);
  assert.equal(byIndex.index, 7);
  const past = await findPage(s, "u", {}, { index: 10 }, limits);
  assert.deepEqual(ids(past), []);
  assert.equal(past.complete, true);
  await assert.rejects(
    findPage(await store(20), "u", {}, { index: 11 }, limits),
    (e) => e instanceof StanzaError && e.condition === "feature-not-implemented",
  );
  const counted = await findPage(s, "u", {}, { max: 0 }, limits);
  assert.deepEqual(ids(counted), []);
  assert.equal(counted.count, 10);
  // before-id i5 and RSM before i8: the earlier bound (i5) wins.
  const both = await findPage(s, "u", { beforeId: "i5" }, { max: 2, before: "i8" }, limits);
  assert.deepEqual(ids(both), ["i3", "i4"]);
  assert.equal(both.count, 5);
  assert.equal(both.index, 3);
  await assert.rejects(
    findPage(s, "u", { ids: ["i1", "zz"] }, {}, limits),
    (e) => e instanceof StanzaError && e.condition === "item-not-found",
  );
  const empty = await findPage(s, "nobody", {}, {}, limits);
  assert.equal(empty.count, 0);
  assert.equal(empty.complete, true);
});
