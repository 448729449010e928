/**
 * Listing the pubsub service's nodes ("my subscriptions", "my
 * affiliations", disco#items) costs storage reads for what is listed, not
 * for every node of the service: no items, no extras of nodes the
 * requester has nothing on.
 */
import assert from "node:assert/strict";
import { MemoryStorage } from "../../src/storage/memory.ts";
import type { MapStore, StorageDriver } from "../../src/storage/types.ts";
import { startTestServer } from "../helpers/server.ts";
import { iq } from "../helpers/client.ts";
import { login, NS_PUBSUB, ps, PUBSUB, USERS } from "../helpers/pubsub.ts";

/** A memory driver counting the calls on the pubsub service's stores, by store and call. */
function countingDriver() {
  const inner = new MemoryStorage();
  const calls = new Map<string, number>();
  const count = (key: string) => calls.set(key, (calls.get(key) ?? 0) + 1);
  const driver: StorageDriver = {
    name: inner.name,
    keyval: (host, store) => inner.keyval(host, store),
    archive: (host, store) => inner.archive(host, store),
    deleteUser: (host, user) => inner.deleteUser(host, user),
    close: () => inner.close(),
    map(host, store) {
      const m = inner.map(host, store);
      if (host !== PUBSUB) return m;
      const counted = (call: string) => count(`${store}.${call}`);
      const wrapped: MapStore = {
        get: (u, k) => (counted("get"), m.get(u, k)),
        set: (u, k, v) => (counted("set"), m.set(u, k, v)),
        getAll: (u) => (counted("getAll"), m.getAll(u)),
        getPage: (u, a, l) => (counted("getPage"), m.getPage(u, a, l)),
        clear: (u) => (counted("clear"), m.clear(u)),
      };
      return wrapped;
    },
  };
  return { driver, calls };
}

Deno.test("pubsub service: listings read no items, and extras only of the nodes listed", async () => {
  const { driver, calls } = countingDriver();
  const server = await startTestServer({ muc: { enabled: false } }, USERS, { storage: driver });
  try {
    const alice = await login(server, "alice");
    const bob = await login(server, "bob");
    for (let i = 0; i < 30; i++) {
      await ps(
        alice,
        "set",
        `<publish node='n${i}'><item id='a'><entry xmlns='urn:t'>${i}</entry></item></publish>`,
      );
    }
    for (const n of ["n3", "n17"]) {
      await ps(bob, "set", `<subscribe node='${n}' jid='bob@localhost'/>`);
    }
    // Each subscription brings the node's last item (its extras read): done before counting.
    for (let i = 0; i < 2; i++) await bob.stanza((e) => e.name === "message");
    calls.clear();

    const subs = await ps(bob, "get", `<subscriptions/>`);
    const listed = subs.getChild("pubsub", NS_PUBSUB)!.getChild("subscriptions")!
      .getChildren("subscription");
    assert.deepEqual(listed.map((s) => s.attrs.node).sort(), ["n17", "n3"]);
    assert.ok(listed.every((s) => s.attrs.subid), "with their subids");
    assert.equal(calls.get("pubsub_extras.get"), 2, "extras of the two nodes listed only");

    const affs = await ps(alice, "get", `<affiliations/>`);
    assert.equal(
      affs.getChild("pubsub", NS_PUBSUB)!.getChild("affiliations")!.getChildren("affiliation")
        .length,
      30,
    );
    const items = await iq(
      bob,
      "disco1",
      `<iq type='get' id='disco1' to='${PUBSUB}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`,
    );
    assert.equal(
      items.getChild("query", "http://jabber.org/protocol/disco#items")!.getChildren("item").length,
      30,
    );
    assert.equal(calls.get("pubsub_extras.get"), 2, "none for the other listings");
    const itemReads = [...calls.keys()].filter((k) => k.startsWith("pubsub_items."));
    assert.deepEqual(itemReads, [], "no item read to list nodes");
    alice.close();
    bob.close();
  } finally {
    await server.stop();
  }
});
