/**
 * The pubsub service's storage bound (`pubsub.maxBytes`): the items of all
 * its nodes together. Without it one user could fill the disk: 1000 nodes
 * × 1000 items × 256 KiB each.
 */
import assert from "node:assert/strict";
import { errorCondition } from "../helpers/client.ts";
import { createWithConfig, itemIds, login, ps, startPubsubServer } from "../helpers/pubsub.ts";

/** A publish of an item whose payload is about `kib` KiB. */
const big = (node: string, id: string, kib: number) =>
  `<publish node='${node}'><item id='${id}'><blob xmlns='urn:test'>${
    "x".repeat(kib * 1024)
  }</blob></item></publish>`;

Deno.test("pubsub service: all nodes together keep at most maxBytes of items", async () => {
  const server = await startPubsubServer({ pubsub: { maxBytes: 8 * 1024 } });
  const alice = await login(server, "alice");
  const bob = await login(server, "bob");
  try {
    await ps(alice, "set", createWithConfig("a", { "pubsub#max_items": "10" }));
    for (const id of ["1", "2", "3"]) {
      const r = await ps(alice, "set", big("a", id, 2));
      assert.equal(r.attrs.type, "result", r.toString());
    }
    await ps(bob, "set", `<create node='b'/>`);
    const over = await ps(bob, "set", big("b", "1", 3));
    assert.equal(errorCondition(over), "resource-constraint", over.toString());
    // Replacing an item, or pushing the oldest out, frees what it held:
    // a publish that does not grow what is stored goes.
    const replace = await ps(alice, "set", big("a", "3", 2));
    assert.equal(replace.attrs.type, "result", replace.toString());
    await ps(alice, "set", createWithConfig("one", { "pubsub#max_items": "1" }));
    const first = await ps(alice, "set", big("one", "x", 1));
    assert.equal(first.attrs.type, "result", first.toString());
    const next = await ps(alice, "set", big("one", "y", 1));
    assert.equal(next.attrs.type, "result", next.toString());
    assert.deepEqual(itemIds(await ps(alice, "get", `<items node='one'/>`)), ["y"]);
  } finally {
    await server.stop();
  }
});

Deno.test("pubsub service: an items answer holds at most 16 × maxItemBytes of payloads, the newest", async () => {
  // One small request must not make the server read and send a node's
  // every item: 1000 × 256 KiB, a quarter of a gigabyte.
  const server = await startPubsubServer({ pubsub: { maxItemBytes: 1024 } });
  const alice = await login(server, "alice");
  try {
    await ps(alice, "set", createWithConfig("n", { "pubsub#max_items": "40" }));
    const ids = Array.from({ length: 30 }, (_, i) => String(i));
    for (const id of ids) {
      const r = await ps(
        alice,
        "set",
        `<publish node='n'><item id='${id}'><blob xmlns='urn:test'>${"x".repeat(900)}</blob>` +
          `</item></publish>`,
      );
      assert.equal(r.attrs.type, "result", r.toString());
    }
    const got = itemIds(await ps(alice, "get", `<items node='n'/>`));
    assert.ok(got.length >= 16 && got.length < 30, String(got.length));
    assert.deepEqual(got, ids.toReversed().slice(0, got.length));
    assert.deepEqual(itemIds(await ps(alice, "get", `<items node='n' max_items='3'/>`)), [
      "29",
      "28",
      "27",
    ]);
  } finally {
    await server.stop();
  }
});
