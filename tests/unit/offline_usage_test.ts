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

Deno.test("OfflineUsage derives totals from storage across pages, then keeps them", async () => {
  const archive = new MemoryStorage().archive("h", "offline");
  let expected = 0;
  let fromA = 0;
  for (let i = 0; i < 150; i++) {
    const sender = i % 3 === 0 ? "a@x" : "b@x";
    await archive.append("bob", { with: sender, value: { stanza: stanza(i) } });
    expected += storedBytes(stanza(i));
    if (sender === "a@x") fromA += storedBytes(stanza(i));
  }
  await archive.append("bob", { value: { stanza: "<m/>" } });
  expected += 4;
  const usage = new OfflineUsage(archive);
  const first = await usage.get("bob", 151);
  assert.equal(first.count, 151);
  assert.equal(first.bytes, expected);
  assert.equal(first.bySender.get("a@x"), fromA);
  assert.equal(first.bySender.get("b@x"), expected - 4 - fromA);

  usage.added("bob", "a@x", 40);
  let now = await usage.get("bob", 152);
  assert.deepEqual([now.count, now.bytes, now.bySender.get("a@x")], [
    152,
    expected + 40,
    fromA + 40,
  ]);
  usage.removed("bob", [{ with: "a@x", bytes: 40 }, { bytes: 4 }], 2);
  now = await usage.get("bob", 150);
  assert.deepEqual([now.count, now.bytes, now.bySender.get("a@x")], [150, expected - 4, fromA]);
});

Deno.test("OfflineUsage derives again when storage's count disagrees or a delete fell short", async () => {
  const archive = new MemoryStorage().archive("h", "offline");
  await archive.append("bob", { with: "a@x", value: { stanza: "<m/>" } });
  const usage = new OfflineUsage(archive);
  assert.equal((await usage.get("bob", 1)).bytes, 4);
  // Changed behind its back: what storage holds wins.
  await archive.append("bob", { with: "a@x", value: { stanza: "<mm/>" } });
  const two = await usage.get("bob", 2);
  assert.deepEqual([two.count, two.bytes, two.bySender.get("a@x")], [2, 9, 9]);
  // Fewer deleted than asked: the kept figure is not trusted.
  await archive.delete("bob");
  usage.removed("bob", [{ with: "a@x", bytes: 4 }, { with: "a@x", bytes: 5 }], 1);
  assert.equal(usage.size, 0);
  assert.equal((await usage.get("bob", 0)).bytes, 0);
  assert.equal(usage.size, 0, "an empty box keeps no entry");
  // A box emptied by delivery drops its entry, and its senders with it.
  await archive.append("bob", { with: "a@x", value: { stanza: "<m/>" } });
  await usage.get("bob", 1);
  assert.equal(usage.size, 1);
  usage.removed("bob", [{ with: "a@x", bytes: 4 }], 1);
  assert.equal(usage.size, 0);
});
