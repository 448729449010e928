import assert from "node:assert/strict";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { domainOf, OfflineUsage, storedBytes } from "../../src/modules/offline_usage.ts";

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
  const senders = ["a@x", "b@x", "y"];
  const bytes = new Map<string, number>();
  let expected = 0;
  for (let i = 0; i < 150; i++) {
    const sender = senders[i % 3];
    await archive.append("bob", { with: sender, value: { stanza: stanza(i) } });
    expected += storedBytes(stanza(i));
    bytes.set(sender, (bytes.get(sender) ?? 0) + storedBytes(stanza(i)));
  }
  // A message without a sender counts in the box only.
  await archive.append("bob", { value: { stanza: "<m/>" } });
  expected += 4;
  const usage = new OfflineUsage(archive);
  const first = await usage.get("bob", 151);
  assert.deepEqual([first.count, first.bytes], [151, expected]);
  for (const s of senders) {
    assert.deepEqual(first.bySender.get(s), { count: 50, bytes: bytes.get(s) });
  }
  const fromX = bytes.get("a@x")! + bytes.get("b@x")!;
  assert.deepEqual(first.byDomain.get("x"), { count: 100, bytes: fromX });
  assert.equal(first.byDomain.get("y")?.count, 50, "a domain JID is its own domain");

  usage.added("bob", "a@x", 40);
  let now = await usage.get("bob", 152);
  assert.deepEqual([now.count, now.bytes], [152, expected + 40]);
  assert.deepEqual(now.bySender.get("a@x"), { count: 51, bytes: bytes.get("a@x")! + 40 });
  assert.deepEqual(now.byDomain.get("x"), { count: 101, bytes: fromX + 40 });
  usage.removed("bob", [{ with: "a@x", bytes: 40 }, { bytes: 4 }], 2);
  now = await usage.get("bob", 150);
  assert.deepEqual([now.count, now.bytes], [150, expected - 4]);
  assert.deepEqual(now.bySender.get("a@x"), { count: 50, bytes: bytes.get("a@x") });
  assert.deepEqual(now.byDomain.get("x"), { count: 100, bytes: fromX });
});

Deno.test("OfflineUsage derives again when storage's count disagrees or a delete fell short", async () => {
  const archive = new MemoryStorage().archive("h", "offline");
  await archive.append("bob", { with: "a@x", value: { stanza: "<m/>" } });
  const usage = new OfflineUsage(archive);
  assert.equal((await usage.get("bob", 1)).bytes, 4);
  // Changed behind its back: what storage holds wins.
  await archive.append("bob", { with: "a@x", value: { stanza: "<mm/>" } });
  const two = await usage.get("bob", 2);
  assert.deepEqual([two.count, two.bytes], [2, 9]);
  assert.deepEqual(two.bySender.get("a@x"), { count: 2, bytes: 9 });
  // Fewer deleted than asked: the kept figure is not trusted.
  await archive.delete("bob");
  usage.removed("bob", [{ with: "a@x", bytes: 4 }, { with: "a@x", bytes: 5 }], 1);
  assert.equal(usage.size, 0);
  assert.equal((await usage.get("bob", 0)).bytes, 0);
  assert.equal(usage.size, 0, "an empty box keeps no entry");
  // A box emptied by delivery drops its entry.
  await archive.append("bob", { with: "a@x", value: { stanza: "<m/>" } });
  await usage.get("bob", 1);
  assert.equal(usage.size, 1);
  usage.removed("bob", [{ with: "a@x", bytes: 4 }], 1);
  assert.equal(usage.size, 0);
});

Deno.test("OfflineUsage forgets senders and domains with nothing left in the box", async () => {
  const usage = new OfflineUsage(new MemoryStorage().archive("h", "offline"));
  await usage.get("bob", 0);
  usage.added("bob", "a@x", 10);
  usage.added("bob", "b@x", 10);
  usage.added("bob", "c@z", 10);
  usage.removed("bob", [{ with: "a@x", bytes: 10 }, { with: "c@z", bytes: 10 }], 2);
  const left = await usage.get("bob", 1);
  assert.deepEqual([...left.bySender.keys()], ["b@x"]);
  assert.deepEqual([...left.byDomain.keys()], ["x"]);
});

Deno.test("domainOf: the part after the @ of a bare JID, or the domain JID itself", () => {
  assert.equal(domainOf("a@example.org"), "example.org");
  assert.equal(domainOf("example.org"), "example.org");
});
