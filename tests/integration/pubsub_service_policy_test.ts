/**
 * The pubsub service's policies: the last item sent on subscription
 * (per `send_last_published_item`), auto-create with publish-options and
 * their preconditions, who may create nodes (`pubsub.create`), and the
 * `pubsub.*` limits.
 */
import assert from "node:assert/strict";
import { errorCondition, TestClient } from "../helpers/client.ts";
import {
  appCondition,
  configureNode,
  createWithConfig,
  itemIds,
  login,
  nextEvent,
  nodeConfig,
  NS_EVENT,
  NS_OWNER,
  NS_PUBSUB,
  ps,
  PUBSUB,
  startPubsubServer,
  submitForm,
  USERS,
} from "../helpers/pubsub.ts";

const PUBLISH_OPTIONS = NS_PUBSUB + "#publish-options";

const publish = (node: string, id: string, text = id) =>
  `<publish node='${node}'><item id='${id}'><entry xmlns='urn:test'>${text}</entry></item></publish>`;

Deno.test("pubsub service: the last item on subscription, as configured", async () => {
  const server = await startPubsubServer();
  const alice = await login(server, "alice");
  const bob = await login(server, "bob");
  try {
    await ps(
      alice,
      "set",
      createWithConfig("sub", { "pubsub#send_last_published_item": "on_sub" }),
    );
    await ps(
      alice,
      "set",
      createWithConfig("never", { "pubsub#send_last_published_item": "never" }),
    );
    await ps(
      alice,
      "set",
      createWithConfig("presence", {
        "pubsub#send_last_published_item": "on_sub_and_presence",
      }),
    );
    for (const node of ["sub", "never", "presence"]) {
      await ps(alice, "set", publish(node, "old"));
      await ps(alice, "set", publish(node, "last"));
    }
    // The subscription result comes first, then the last item with its time.
    const r = await ps(bob, "set", `<subscribe node='sub' jid='bob@localhost/r'/>`);
    assert.equal(r.attrs.type, "result");
    const last = await nextEvent(bob);
    const items = last.getChild("event", NS_EVENT)!.getChild("items")!;
    assert.equal(items.attrs.node, "sub");
    assert.deepEqual(items.getChildren("item").map((i) => i.attrs.id), ["last"]);
    assert.equal(last.attrs.to, "bob@localhost/r");
    assert.ok(last.getChild("delay", "urn:xmpp:delay")?.attrs.stamp);

    await ps(bob, "set", `<subscribe node='never' jid='bob@localhost'/>`);
    await bob.nothing((e) => e.name === "message" && e.attrs.from === PUBSUB);

    await ps(bob, "set", `<subscribe node='presence' jid='bob@localhost'/>`);
    const last2 = await nextEvent(bob);
    assert.equal(last2.getChild("event", NS_EVENT)!.getChild("items")!.attrs.node, "presence");

    // deliver_payloads off: notifications carry the id only, items the payload;
    // notify_config on: subscribers see the new configuration.
    const cfg = await configureNode(alice, "presence", {
      "pubsub#deliver_payloads": "0",
      "pubsub#notify_config": "1",
    });
    assert.equal(cfg.attrs.type, "result");
    const cfgEv = await nextEvent(bob, (e) => e.getChild("configuration") !== undefined);
    assert.equal(
      cfgEv.getChild("event", NS_EVENT)!.getChild("configuration")!.attrs.node,
      "presence",
    );
    await ps(alice, "set", publish("presence", "bare"));
    const bareEv = await nextEvent(bob, (e) => e.getChild("items") !== undefined);
    const bareItem = bareEv.getChild("event", NS_EVENT)!.getChild("items")!.getChild("item")!;
    assert.equal(bareItem.attrs.id, "bare");
    assert.equal(bareItem.getChildren().length, 0);
    const full = await ps(bob, "get", `<items node='presence' max_items='1'/>`);
    assert.equal(
      full.getChild("pubsub", NS_PUBSUB)!.getChild("items")!.getChild("item")!.getChildText(
        "entry",
        "urn:test",
      ),
      "bare",
    );

    // Subscribing again changes nothing and sends nothing.
    const again = await ps(bob, "set", `<subscribe node='sub' jid='bob@localhost/r'/>`);
    assert.equal(
      again.getChild("pubsub", NS_PUBSUB)!.getChild("subscription")!.attrs.subid,
      r.getChild("pubsub", NS_PUBSUB)!.getChild("subscription")!.attrs.subid,
    );
    await bob.nothing((e) => e.name === "message" && e.attrs.from === PUBSUB);
  } finally {
    alice.close();
    bob.close();
    await server.stop();
  }
});

Deno.test("pubsub service: auto-create with publish-options, preconditions, access", async () => {
  const server = await startPubsubServer();
  const alice = await login(server, "alice");
  const bob = await login(server, "bob");
  try {
    const options = (fields: Record<string, string>) =>
      `<publish-options>${submitForm(PUBLISH_OPTIONS, fields)}</publish-options>`;
    const r = await ps(
      alice,
      "set",
      publish("auto", "a1") +
        options({ "pubsub#access_model": "whitelist", "pubsub#max_items": "3" }),
    );
    assert.equal(r.attrs.type, "result");
    const fields = await nodeConfig(alice, "auto");
    assert.deepEqual(fields.get("pubsub#access_model"), ["whitelist"]);
    assert.deepEqual(fields.get("pubsub#max_items"), ["3"]);

    const mismatch = await ps(
      alice,
      "set",
      publish("auto", "a2") + options({ "pubsub#access_model": "open" }),
    );
    assert.equal(errorCondition(mismatch), "conflict");
    assert.equal(appCondition(mismatch), "precondition-not-met");
    const match = await ps(
      alice,
      "set",
      publish("auto", "a2") + options({ "pubsub#access_model": "whitelist" }),
    );
    assert.equal(match.attrs.type, "result");

    // No roster behind the service: presence/roster/authorize are not offered.
    const presence = await ps(
      alice,
      "set",
      createWithConfig("p", { "pubsub#access_model": "presence" }),
    );
    assert.equal(errorCondition(presence), "not-acceptable");
    assert.equal(appCondition(presence), "unsupported-access-model");

    // Whitelist: bob is not on it, then is (as a member).
    const closed = await ps(bob, "get", `<items node='auto'/>`);
    assert.equal(errorCondition(closed), "not-allowed");
    assert.equal(appCondition(closed), "closed-node");
    const refused = await ps(bob, "set", `<subscribe node='auto' jid='bob@localhost'/>`);
    assert.equal(errorCondition(refused), "not-allowed");
    await ps(
      alice,
      "set",
      `<affiliations node='auto'><affiliation jid='bob@localhost' affiliation='member'/></affiliations>`,
      NS_OWNER,
    );
    assert.deepEqual(itemIds(await ps(bob, "get", `<items node='auto'/>`)), ["a2", "a1"]);

    // publish-only: may publish, not read.
    await ps(
      alice,
      "set",
      `<affiliations node='auto'><affiliation jid='bob@localhost' affiliation='publish-only'/></affiliations>`,
      NS_OWNER,
    );
    assert.equal((await ps(bob, "set", publish("auto", "b1"))).attrs.type, "result");
    assert.equal(errorCondition(await ps(bob, "get", `<items node='auto'/>`)), "forbidden");
    // max_items 3.
    assert.deepEqual(itemIds(await ps(alice, "get", `<items node='auto'/>`)), ["b1", "a2", "a1"]);
    await ps(alice, "set", publish("auto", "a3"));
    assert.deepEqual(itemIds(await ps(alice, "get", `<items node='auto'/>`)), ["a3", "b1", "a2"]);
    // The last owner cannot leave.
    const lastOwner = await ps(
      alice,
      "set",
      `<affiliations node='auto'><affiliation jid='alice@localhost' affiliation='none'/></affiliations>`,
      NS_OWNER,
    );
    assert.equal(errorCondition(lastOwner), "not-acceptable");
  } finally {
    alice.close();
    bob.close();
    await server.stop();
  }
});

Deno.test("pubsub service: who may create nodes", async () => {
  // Default "local": users of localhost, not of another hosted domain.
  const server = await startPubsubServer({ hosts: ["localhost", "other.localhost"] });
  try {
    const alice = await login(server, "alice");
    const stranger = await TestClient.login({
      port: server.ports.c2s,
      domain: "other.localhost",
      user: "bob",
      password: USERS.bob,
      resource: "r",
    });
    assert.equal((await ps(alice, "set", `<create node='mine'/>`)).attrs.type, "result");
    const refused = await ps(stranger, "set", `<create node='theirs'/>`);
    assert.equal(errorCondition(refused), "forbidden");
    // No auto-create for them either: the node does not exist.
    const auto = await ps(stranger, "set", publish("theirs", "x"));
    assert.equal(errorCondition(auto), "item-not-found");
    // They may still subscribe to an open node and get its notifications.
    await ps(stranger, "set", `<subscribe node='mine' jid='bob@other.localhost'/>`);
    await ps(alice, "set", publish("mine", "hello"));
    const ev = await nextEvent(stranger);
    assert.equal(ev.getChild("event", NS_EVENT)!.getChild("items")!.attrs.node, "mine");
    alice.close();
    stranger.close();
  } finally {
    await server.stop();
  }

  const admins = await startPubsubServer({
    admins: ["carol@localhost"],
    pubsub: { create: "admins" },
  });
  try {
    const alice = await login(admins, "alice");
    const carol = await login(admins, "carol");
    assert.equal(errorCondition(await ps(alice, "set", `<create node='a'/>`)), "forbidden");
    assert.equal(errorCondition(await ps(alice, "set", publish("a", "1"))), "item-not-found");
    assert.equal((await ps(carol, "set", `<create node='a'/>`)).attrs.type, "result");
    // The admin acts as an owner of nodes she does not own.
    await ps(
      carol,
      "set",
      `<affiliations node='a'><affiliation jid='alice@localhost' affiliation='owner'/></affiliations>`,
      NS_OWNER,
    );
    await ps(alice, "set", publish("a", "1"));
    assert.equal((await ps(carol, "set", `<purge node='a'/>`, NS_OWNER)).attrs.type, "result");
    alice.close();
    carol.close();
  } finally {
    await admins.stop();
  }
});

Deno.test("pubsub service: an admin written unprepared in the config is still the admin", async () => {
  const server = await startPubsubServer({
    admins: ["Carol@LocalHost"],
    pubsub: { create: "admins" },
  });
  try {
    const carol = await login(server, "carol");
    assert.equal((await ps(carol, "set", `<create node='a'/>`)).attrs.type, "result");
    carol.close();
  } finally {
    await server.stop();
  }
});

Deno.test("pubsub service: limits", async () => {
  const server = await startPubsubServer({
    pubsub: { maxNodes: 2, maxItemsPerNode: 4, maxItemBytes: 1024, maxSubscriptionsPerNode: 1 },
  });
  const alice = await login(server, "alice");
  const bob = await login(server, "bob");
  try {
    await ps(alice, "set", `<create node='n1'/>`);
    await ps(alice, "set", `<create node='n2'/>`);
    const third = await ps(alice, "set", `<create node='n3'/>`);
    assert.equal(errorCondition(third), "resource-constraint");
    const autoThird = await ps(alice, "set", publish("n3", "x"));
    assert.equal(errorCondition(autoThird), "resource-constraint");

    const big = await ps(alice, "set", publish("n1", "big", "x".repeat(2000)));
    assert.equal(errorCondition(big), "not-acceptable");
    assert.equal(appCondition(big), "payload-too-big");

    const tooMany = await configureNode(alice, "n1", { "pubsub#max_items": "5" });
    assert.equal(errorCondition(tooMany), "not-acceptable");
    await configureNode(alice, "n1", { "pubsub#max_items": "max" });
    for (let i = 0; i < 6; i++) await ps(alice, "set", publish("n1", "i" + i));
    assert.deepEqual(itemIds(await ps(alice, "get", `<items node='n1'/>`)), [
      "i5",
      "i4",
      "i3",
      "i2",
    ]);

    assert.equal(
      (await ps(alice, "set", `<subscribe node='n1' jid='alice@localhost'/>`)).attrs.type,
      "result",
    );
    const full = await ps(bob, "set", `<subscribe node='n1' jid='bob@localhost'/>`);
    assert.equal(errorCondition(full), "policy-violation");
    assert.equal(appCondition(full), "too-many-subscriptions");
  } finally {
    alice.close();
    bob.close();
    await server.stop();
  }
});

Deno.test("pubsub service: one user's resources hold at most 10 subscriptions on a node", async () => {
  const server = await startPubsubServer();
  const alice = await login(server, "alice");
  try {
    await ps(alice, "set", `<create node='subs'/>`);
    for (let i = 0; i < 10; i++) {
      const ok = await ps(alice, "set", `<subscribe node='subs' jid='alice@localhost/r${i}'/>`);
      assert.equal(ok.attrs.type, "result");
    }
    const more = await ps(alice, "set", `<subscribe node='subs' jid='alice@localhost/r10'/>`);
    assert.equal(errorCondition(more), "policy-violation");
    assert.equal(appCondition(more), "too-many-subscriptions");
  } finally {
    alice.close();
    await server.stop();
  }
});
