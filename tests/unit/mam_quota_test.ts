/** The per-user archive cap: counted once, raised per message, recounted when reached. */
import assert from "node:assert/strict";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { ArchiveQuota } from "../../src/modules/mam/quota.ts";

Deno.test("quota: counts once, refuses at the cap, recounts after room was made", async () => {
  const store = new MemoryStorage().archive("h", "archive");
  for (let i = 0; i < 2; i++) await store.append("u", { id: `m${i}`, when: 1000 + i, value: "x" });
  let now = 0;
  const q = new ArchiveQuota(store, 3, () => now);
  assert.equal(await q.admit("u"), true); // read 2, now 3
  assert.equal(q.admit("u"), false); // at the cap; just counted: no recount
  await store.delete("u", { ids: ["m0", "m1"] });
  assert.equal(q.admit("u"), false); // too soon to count again
  now += 11 * 60 * 1000;
  assert.equal(await q.admit("u"), true); // recounted: 0, now 1
  assert.equal(q.admit("u"), true);
  assert.equal(q.admit("u"), true);
  assert.equal(q.admit("u"), false);
  // Concurrent first messages share one count.
  const fresh = new ArchiveQuota(store, 2, () => now);
  const results = await Promise.all([fresh.admit("v"), fresh.admit("v"), fresh.admit("v")]);
  assert.deepEqual(results, [true, true, false]);
  // 0: no cap.
  assert.equal(new ArchiveQuota(store, 0).admit("u"), true);
});
