/**
 * XEP-0060 conformance of the pubsub service found missing in review:
 * each test names the rule it holds the service to.
 */
import assert from "node:assert/strict";
import { errorCondition } from "../helpers/client.ts";
import {
  appCondition,
  createWithConfig,
  itemIds,
  login,
  nextEvent,
  NS_OWNER,
  NS_PUBSUB,
  ps,
  startPubsubServer,
} from "../helpers/pubsub.ts";

const entry = (text: string) => `<entry xmlns='urn:test'>${text}</entry>`;

Deno.test("pubsub service: a publish must match the node's event type (XEP-0060 §7.1.3.6)", async () => {
  const server = await startPubsubServer();
  const alice = await login(server, "alice");
  try {
    await ps(alice, "set", `<create node='persistent'/>`);
    // Persistent: an item is required (MUST), and a payload when payloads are delivered.
    const noItem = await ps(alice, "set", `<publish node='persistent'/>`);
    assert.equal(errorCondition(noItem), "bad-request", noItem.toString());
    assert.equal(appCondition(noItem), "item-required");
    const noPayload = await ps(alice, "set", `<publish node='persistent'><item id='x'/></publish>`);
    assert.equal(errorCondition(noPayload), "bad-request", noPayload.toString());
    assert.equal(appCondition(noPayload), "payload-required");
    const none = await ps(alice, "get", `<items node='persistent'/>`);
    assert.deepEqual(itemIds(none), []);

    // Transient and notification-only: an item is forbidden (MUST).
    const created = await ps(
      alice,
      "set",
      createWithConfig("transient", {
        "pubsub#persist_items": "0",
        "pubsub#deliver_payloads": "0",
      }),
    );
    assert.equal(created.attrs.type, "result", created.toString());
    const withItem = await ps(
      alice,
      "set",
      `<publish node='transient'><item id='y'>${entry("y")}</item></publish>`,
    );
    assert.equal(errorCondition(withItem), "bad-request", withItem.toString());
    assert.equal(appCondition(withItem), "item-forbidden");
    await ps(alice, "set", `<subscribe node='transient' jid='alice@localhost/r'/>`);
    const bare = await ps(alice, "set", `<publish node='transient'/>`);
    assert.equal(bare.attrs.type, "result", bare.toString());
    await nextEvent(alice, (e) => e.getChild("items")?.attrs.node === "transient");
  } finally {
    await server.stop();
  }
});

Deno.test("pubsub service: under publish_model subscribers, a subscriber by full JID may publish (XEP-0060 §16.4.4)", async () => {
  const server = await startPubsubServer();
  const alice = await login(server, "alice");
  const bob = await login(server, "bob");
  const carol = await login(server, "carol");
  try {
    await ps(alice, "set", createWithConfig("club", { "pubsub#publish_model": "subscribers" }));
    const sub = await ps(bob, "set", `<subscribe node='club' jid='bob@localhost/r'/>`);
    assert.equal(sub.attrs.type, "result", sub.toString());
    const pub = await ps(
      bob,
      "set",
      `<publish node='club'><item id='b'>${entry("b")}</item></publish>`,
    );
    assert.equal(pub.attrs.type, "result", pub.toString());
    // Not subscribed: still refused.
    const other = await ps(
      carol,
      "set",
      `<publish node='club'><item id='c'>${entry("c")}</item></publish>`,
    );
    assert.equal(errorCondition(other), "forbidden", other.toString());
  } finally {
    await server.stop();
  }
});

Deno.test("pubsub service: an outcast may not retract, not even its own earlier item (XEP-0060 §4.1)", async () => {
  const server = await startPubsubServer();
  const alice = await login(server, "alice");
  const bob = await login(server, "bob");
  try {
    await ps(alice, "set", createWithConfig("open", { "pubsub#publish_model": "open" }));
    const pub = await ps(
      bob,
      "set",
      `<publish node='open'><item id='b'>${entry("b")}</item></publish>`,
    );
    assert.equal(pub.attrs.type, "result", pub.toString());
    const banned = await ps(
      alice,
      "set",
      `<affiliations node='open'><affiliation jid='bob@localhost' affiliation='outcast'/></affiliations>`,
      NS_OWNER,
    );
    assert.equal(banned.attrs.type, "result", banned.toString());
    const r = await ps(bob, "set", `<retract node='open'><item id='b'/></retract>`);
    assert.equal(errorCondition(r), "forbidden", r.toString());
    assert.deepEqual(itemIds(await ps(alice, "get", `<items node='open'/>`)), ["b"]);
  } finally {
    await server.stop();
  }
});

Deno.test("pubsub service: a node name with a line break cannot reach another node's items", async () => {
  const server = await startPubsubServer();
  const alice = await login(server, "alice");
  const bob = await login(server, "bob");
  try {
    await ps(alice, "set", `<create node='notes'/>`);
    const mine = await ps(
      alice,
      "set",
      `<publish node='notes'><item id='a&#10;b'>${entry("alice's")}</item></publish>`,
    );
    assert.equal(mine.attrs.type, "result", mine.toString());
    // Items are stored under "<node>\n<id>": bob's node "notes\na", item "b",
    // would be stored where alice's item "a\nb" of "notes" is.
    const created = await ps(bob, "set", `<create node='notes&#10;a'/>`);
    assert.equal(created.attrs.type, "error", created.toString());
    const auto = await ps(
      bob,
      "set",
      `<publish node='notes&#10;a'><item id='b'>${entry("bob's")}</item></publish>`,
    );
    assert.equal(auto.attrs.type, "error", auto.toString());
    const items = await ps(alice, "get", `<items node='notes'/>`);
    const item = items.getChild("pubsub", NS_PUBSUB)!.getChild("items")!.getChild("item")!;
    assert.equal(item.getChild("entry", "urn:test")?.text(), "alice's");
  } finally {
    await server.stop();
  }
});

Deno.test("pubsub service: subscribe-and-configure options naming a node or JID are refused (XEP-0060 §6.3.7)", async () => {
  const server = await startPubsubServer();
  const alice = await login(server, "alice");
  const bob = await login(server, "bob");
  try {
    await ps(alice, "set", `<create node='n'/>`);
    const form = `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>` +
      `<value>${NS_PUBSUB}#subscribe_options</value></field>` +
      `<field var='pubsub#deliver'><value>1</value></field></x>`;
    for (const attrs of [`node='other'`, `jid='alice@localhost'`]) {
      const r = await ps(
        bob,
        "set",
        `<subscribe node='n' jid='bob@localhost'/><options ${attrs}>${form}</options>`,
      );
      assert.equal(errorCondition(r), "bad-request", r.toString());
    }
    const subs = await ps(alice, "get", `<subscriptions node='n'/>`, NS_OWNER);
    assert.equal(
      subs.getChild("pubsub", NS_OWNER)!.getChild("subscriptions")!.getChildren().length,
      0,
    );
    const ok = await ps(
      bob,
      "set",
      `<subscribe node='n' jid='bob@localhost'/><options>${form}</options>`,
    );
    assert.equal(ok.attrs.type, "result", ok.toString());
  } finally {
    await server.stop();
  }
});

Deno.test("pubsub service: an item id with a line break or tab comes back as it was published", async () => {
  const server = await startPubsubServer();
  const alice = await login(server, "alice");
  try {
    await ps(alice, "set", `<create node='odd'/>`);
    const pub = await ps(
      alice,
      "set",
      `<publish node='odd'><item id='a&#10;b&#9;c&#13;'>${entry("x")}</item></publish>`,
    );
    const id = pub.getChild("pubsub", NS_PUBSUB)!.getChild("publish")!.getChild("item")!.attrs.id;
    // XML normalizes a literal line break or tab in an attribute to a space:
    // unless escaped, the client would see an id it can never retract.
    assert.equal(id, "a\nb\tc\r");
    assert.deepEqual(itemIds(await ps(alice, "get", `<items node='odd'/>`)), ["a\nb\tc\r"]);
    const r = await ps(
      alice,
      "set",
      `<retract node='odd'><item id='a&#10;b&#9;c&#13;'/></retract>`,
    );
    assert.equal(r.attrs.type, "result", r.toString());
  } finally {
    await server.stop();
  }
});

Deno.test("pubsub service: an unknown publish-option fails the same whether or not the node exists yet", async () => {
  const server = await startPubsubServer();
  const alice = await login(server, "alice");
  try {
    const options = `<publish-options><x xmlns='jabber:x:data' type='submit'>` +
      `<field var='FORM_TYPE' type='hidden'><value>${NS_PUBSUB}#publish-options</value></field>` +
      `<field var='pubsub#nonsense'><value>1</value></field></x></publish-options>`;
    const publish = `<publish node='auto'><item id='1'>${entry("1")}</item></publish>`;
    // Auto-created ignoring it, the node would then refuse every publish
    // with the same options (it has no such field to match).
    const first = await ps(alice, "set", publish + options);
    assert.equal(errorCondition(first), "conflict", first.toString());
    assert.equal(appCondition(first), "precondition-not-met");
    const items = await ps(alice, "get", `<items node='auto'/>`);
    assert.equal(errorCondition(items), "item-not-found", items.toString());
  } finally {
    await server.stop();
  }
});

Deno.test("pubsub service: pubsub#itemreply as a publish-option holds for the next publish too", async () => {
  const server = await startPubsubServer();
  const alice = await login(server, "alice");
  try {
    const options = (v: string) =>
      `<publish-options><x xmlns='jabber:x:data' type='submit'>` +
      `<field var='FORM_TYPE' type='hidden'><value>${NS_PUBSUB}#publish-options</value></field>` +
      `<field var='pubsub#itemreply'><value>${v}</value></field></x></publish-options>`;
    const publish = (id: string) =>
      `<publish node='r'><item id='${id}'>${entry(id)}</item></publish>`;
    const first = await ps(alice, "set", publish("1") + options("publisher"));
    assert.equal(first.attrs.type, "result", first.toString());
    const again = await ps(alice, "set", publish("2") + options("publisher"));
    assert.equal(again.attrs.type, "result", again.toString());
    const other = await ps(alice, "set", publish("3") + options("owner"));
    assert.equal(errorCondition(other), "conflict", other.toString());
    assert.equal(appCondition(other), "precondition-not-met");
  } finally {
    await server.stop();
  }
});
