import assert from "node:assert/strict";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { OfflineUsage, storedBytes } from "../../src/modules/offline_usage.ts";

const stanza = (n: number) => `<message><body>${"é".repeat(n)}</body></message>`;

Deno.test("storedBytes counts UTF-8 bytes, not UTF-16 units", () => {
  assert.equal(storedBytes("abc"), 3);
  assert.equal(storedBytes("é"), 2);
  assert.equal(storedBytes("€"), 3);
  assert.equal(storedBytes("😀"), 4);
  assert.equal(storedBytes("\ud800x"), 4, "a lone surrogate counts as its replacement");
  const s = stanza(100) + "😀€";
  assert.equal(storedBytes(s), new TextEncoder().encode(s).length);
});

Deno.test("OfflineUsage derives a total from storage across pages, then keeps it", async () => {
  const archive = new MemoryStorage().archive("h", "offline");
  let expected = 0;
  for (let i = 0; i < 150; i++) {
    await archive.append("bob", { value: { stanza: stanza(i) } });
    expected += storedBytes(stanza(i));
  }
  const usage = new OfflineUsage(archive);
  const first = await usage.get("bob", 150);
  assert.deepEqual(first, { count: 150, bytes: expected });

  usage.added("bob", first, 40);
  assert.deepEqual(await usage.get("bob", 151), { count: 151, bytes: expected + 40 });
  usage.removed("bob", 2, 2, 100);
  assert.deepEqual(await usage.get("bob", 149), { count: 149, bytes: expected - 60 });
});

Deno.test("OfflineUsage derives again when storage's count disagrees or a delete fell short", async () => {
  const archive = new MemoryStorage().archive("h", "offline");
  await archive.append("bob", { value: { stanza: "<m/>" } });
  const usage = new OfflineUsage(archive);
  const before = await usage.get("bob", 1);
  assert.deepEqual(before, { count: 1, bytes: 4 });
  // Changed behind its back: what storage holds wins.
  await archive.append("bob", { value: { stanza: "<mm/>" } });
  assert.deepEqual(await usage.get("bob", 2), { count: 2, bytes: 9 });
  // Fewer deleted than asked: the kept figure is not trusted.
  await archive.delete("bob");
  usage.removed("bob", 2, 1, 4);
  assert.equal(usage.size, 0);
  assert.deepEqual(await usage.get("bob", 0), { count: 0, bytes: 0 });
  assert.equal(usage.size, 0, "an empty box keeps no entry");
  // An emptied box drops its entry.
  await archive.append("bob", { value: { stanza: "<m/>" } });
  await usage.get("bob", 1);
  assert.equal(usage.size, 1);
  usage.removed("bob", 1, 1, 4);
  assert.equal(usage.size, 0);
});
