/**
 * Pubsub service nodes survive a restart (same data directory, SQLite):
 * configuration, affiliations, items, subscriptions with their ids and
 * options; a deleted node stays deleted.
 */
import assert from "node:assert/strict";
import { errorCondition } from "../helpers/client.ts";
import {
  createWithConfig,
  itemIds,
  login,
  nextEvent,
  nodeConfig,
  NS_EVENT,
  NS_OWNER,
  NS_PUBSUB,
  ps,
  startPubsubServer,
} from "../helpers/pubsub.ts";

Deno.test("pubsub service: nodes survive a restart", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "parley-pubsub-" });
  const overrides = { dataDir, storage: { driver: "sqlite" } };
  let subid: string;
  const first = await startPubsubServer(overrides);
  try {
    const alice = await login(first, "alice");
    const bob = await login(first, "bob");
    await ps(
      alice,
      "set",
      createWithConfig("kept", {
        "pubsub#title": "Kept",
        "pubsub#max_items": "7",
        "pubsub#itemreply": "publisher",
      }),
    );
    await ps(alice, "set", `<create node='dropped'/>`);
    await ps(
      alice,
      "set",
      `<affiliations node='kept'><affiliation jid='carol@localhost' affiliation='publisher'/></affiliations>`,
      NS_OWNER,
    );
    const sub = await ps(bob, "set", `<subscribe node='kept' jid='bob@localhost'/>`);
    subid = sub.getChild("pubsub", NS_PUBSUB)!.getChild("subscription")!.attrs.subid!;
    for (const id of ["one", "two"]) {
      await ps(
        alice,
        "set",
        `<publish node='kept'><item id='${id}'><entry xmlns='urn:test'>${id}</entry></item></publish>`,
      );
      await nextEvent(bob);
    }
    await ps(alice, "set", `<delete node='dropped'/>`, NS_OWNER);
    alice.close();
    bob.close();
  } finally {
    await first.close();
  }

  const second = await startPubsubServer(overrides);
  try {
    const alice = await login(second, "alice");
    const bob = await login(second, "bob");
    const carol = await login(second, "carol");
    assert.deepEqual(itemIds(await ps(bob, "get", `<items node='kept'/>`)), ["two", "one"]);
    const fields = await nodeConfig(alice, "kept");
    assert.deepEqual(fields.get("pubsub#title"), ["Kept"]);
    assert.deepEqual(fields.get("pubsub#max_items"), ["7"]);
    assert.deepEqual(fields.get("pubsub#itemreply"), ["publisher"]);
    const subs = await ps(alice, "get", `<subscriptions node='kept'/>`, NS_OWNER);
    const s = subs.getChild("pubsub", NS_OWNER)!.getChild("subscriptions")!.getChild(
      "subscription",
    )!;
    assert.deepEqual([s.attrs.jid, s.attrs.subid], ["bob@localhost", subid]);
    // carol is still a publisher; bob, still subscribed, is notified.
    await ps(
      carol,
      "set",
      `<publish node='kept'><item id='three'><entry xmlns='urn:test'>3</entry></item></publish>`,
    );
    const ev = await nextEvent(bob);
    const item = ev.getChild("event", NS_EVENT)!.getChild("items")!.getChild("item")!;
    assert.deepEqual([item.attrs.id, item.attrs.publisher], ["three", "carol@localhost"]);
    assert.equal(
      errorCondition(await ps(alice, "get", `<items node='dropped'/>`)),
      "item-not-found",
    );
    for (const c of [alice, bob, carol]) c.close();
  } finally {
    await second.close();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
