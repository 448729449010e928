/**
 * The publish-subscribe service (XEP-0060) on pubsub.localhost: a node's
 * whole lifecycle over real sockets, stanza by stanza — creation with a
 * form, configuration, publish and notifications (with the publisher),
 * items, affiliations, subscriptions and their options, retract, purge,
 * disco, and deletion with a redirect.
 */
import assert from "node:assert/strict";
import { errorCondition } from "../helpers/client.ts";
import {
  appCondition,
  configureNode,
  createWithConfig,
  formFields,
  itemIds,
  login,
  nextEvent,
  nodeConfig,
  NS_EVENT,
  NS_NODE_CONFIG,
  NS_OWNER,
  NS_PUBSUB,
  ps,
  PUBSUB,
  startPubsubServer,
  submitForm,
} from "../helpers/pubsub.ts";
import { iq } from "../helpers/client.ts";
import { NS } from "../../src/xml/namespaces.ts";

const SUBSCRIBE_OPTIONS = NS_PUBSUB + "#subscribe_options";

Deno.test("pubsub service: a node lifecycle", async () => {
  const server = await startPubsubServer();
  const alice = await login(server, "alice");
  const bob = await login(server, "bob");
  const carol = await login(server, "carol");
  try {
    // ---- creation ------------------------------------------------------
    const created = await ps(
      alice,
      "set",
      createWithConfig("news", {
        "pubsub#title": "News",
        "pubsub#max_items": "5",
        "pubsub#itemreply": "publisher",
      }),
    );
    assert.equal(created.attrs.type, "result");
    const again = await ps(alice, "set", `<create node='news'/>`);
    assert.equal(errorCondition(again), "conflict");
    const instant = await ps(alice, "set", `<create/>`);
    const instantName = instant.getChild("pubsub", NS_PUBSUB)!.getChild("create")!.attrs.node;
    assert.ok(instantName && instantName.length > 0);

    // ---- configuration ---------------------------------------------------
    const fields = await nodeConfig(alice, "news");
    assert.deepEqual(fields.get("FORM_TYPE"), [NS_NODE_CONFIG]);
    assert.deepEqual(fields.get("pubsub#title"), ["News"]);
    assert.deepEqual(fields.get("pubsub#max_items"), ["5"]);
    assert.deepEqual(fields.get("pubsub#itemreply"), ["publisher"]);
    const notOwner = await ps(bob, "get", `<configure node='news'/>`, NS_OWNER);
    assert.equal(errorCondition(notOwner), "forbidden");
    const set = await configureNode(alice, "news", {
      "pubsub#title": "Daily News",
      "pubsub#notify_retract": "1",
    });
    assert.equal(set.attrs.type, "result");
    const fields2 = await nodeConfig(alice, "news");
    assert.deepEqual(fields2.get("pubsub#title"), ["Daily News"]);
    assert.deepEqual(fields2.get("pubsub#max_items"), ["5"]);
    const bad = await configureNode(alice, "news", { "pubsub#access_model": "nonsense" });
    assert.equal(errorCondition(bad), "not-acceptable");
    const def = await ps(alice, "get", `<default/>`, NS_OWNER);
    const defFields = formFields(
      def.getChild("pubsub", NS_OWNER)!.getChild("default")!.getChild("x", "jabber:x:data")!,
    );
    assert.deepEqual(defFields.get("pubsub#access_model"), ["open"]);

    // ---- subscribe ---------------------------------------------------------
    const wrongJid = await ps(bob, "set", `<subscribe node='news' jid='carol@localhost'/>`);
    assert.equal(errorCondition(wrongJid), "bad-request");
    assert.equal(appCondition(wrongJid), "invalid-jid");
    const noNode = await ps(bob, "set", `<subscribe jid='bob@localhost'/>`);
    assert.equal(appCondition(noNode), "nodeid-required");
    const sub = await ps(bob, "set", `<subscribe node='news' jid='bob@localhost'/>`);
    const subEl = sub.getChild("pubsub", NS_PUBSUB)!.getChild("subscription")!;
    assert.equal(subEl.attrs.subscription, "subscribed");
    assert.equal(subEl.attrs.jid, "bob@localhost");
    const subid = subEl.attrs.subid!;
    assert.ok(subid);

    // ---- publish, notifications with the publisher -----------------------
    const pub = await ps(
      alice,
      "set",
      `<publish node='news'><item id='one'><entry xmlns='urn:test'>first</entry></item></publish>`,
    );
    assert.equal(
      pub.getChild("pubsub", NS_PUBSUB)!.getChild("publish")!.getChild("item")!.attrs.id,
      "one",
    );
    const ev1 = await nextEvent(bob);
    assert.equal(ev1.attrs.type, "headline");
    const item1 = ev1.getChild("event", NS_EVENT)!.getChild("items")!.getChild("item")!;
    assert.equal(item1.attrs.id, "one");
    assert.equal(item1.attrs.publisher, "alice@localhost");
    assert.equal(item1.getChildText("entry", "urn:test"), "first");
    for (const id of ["two", "three"]) {
      await ps(
        alice,
        "set",
        `<publish node='news'><item id='${id}'><entry xmlns='urn:test'>${id}</entry></item></publish>`,
      );
      await nextEvent(bob);
    }
    const generated = await ps(
      alice,
      "set",
      `<publish node='news'><item><entry xmlns='urn:test'>gen</entry></item></publish>`,
    );
    const genId = generated.getChild("pubsub", NS_PUBSUB)!.getChild("publish")!.getChild("item")!
      .attrs.id!;
    assert.ok(genId);
    await nextEvent(bob);
    const noId = await ps(alice, "set", `<publish><item/></publish>`);
    assert.equal(appCondition(noId), "nodeid-required");

    // ---- items ---------------------------------------------------------------
    assert.deepEqual(itemIds(await ps(bob, "get", `<items node='news'/>`)), [
      genId,
      "three",
      "two",
      "one",
    ]);
    assert.deepEqual(itemIds(await ps(bob, "get", `<items node='news' max_items='2'/>`)), [
      genId,
      "three",
    ]);
    const byId = await ps(bob, "get", `<items node='news'><item id='two'/></items>`);
    assert.deepEqual(itemIds(byId), ["two"]);
    assert.equal(
      byId.getChild("pubsub", NS_PUBSUB)!.getChild("items")!.getChild("item")!.getChildText(
        "entry",
        "urn:test",
      ),
      "two",
    );
    const missing = await ps(bob, "get", `<items node='nope'/>`);
    assert.equal(errorCondition(missing), "item-not-found");

    // ---- affiliations ------------------------------------------------------------
    const bobPub = await ps(bob, "set", `<publish node='news'><item id='b'/></publish>`);
    assert.equal(errorCondition(bobPub), "forbidden");
    const affSet = await ps(
      alice,
      "set",
      `<affiliations node='news'><affiliation jid='bob@localhost' affiliation='publisher'/><affiliation jid='carol@localhost' affiliation='outcast'/></affiliations>`,
      NS_OWNER,
    );
    assert.equal(affSet.attrs.type, "result");
    const affs = await ps(alice, "get", `<affiliations node='news'/>`, NS_OWNER);
    assert.deepEqual(
      affs.getChild("pubsub", NS_OWNER)!.getChild("affiliations")!.getChildren("affiliation").map((
        a,
      ) => [a.attrs.jid, a.attrs.affiliation]).sort(),
      [["alice@localhost", "owner"], ["bob@localhost", "publisher"], [
        "carol@localhost",
        "outcast",
      ]],
    );
    assert.equal(
      errorCondition(await ps(bob, "get", `<affiliations node='news'/>`, NS_OWNER)),
      "forbidden",
    );
    assert.equal(errorCondition(await ps(carol, "get", `<items node='news'/>`)), "forbidden");
    assert.equal(
      errorCondition(await ps(carol, "set", `<subscribe node='news' jid='carol@localhost'/>`)),
      "forbidden",
    );
    const own = await ps(bob, "get", `<affiliations/>`);
    assert.deepEqual(
      own.getChild("pubsub", NS_PUBSUB)!.getChild("affiliations")!.getChildren("affiliation").map((
        a,
      ) => [a.attrs.node, a.attrs.affiliation]),
      [["news", "publisher"]],
    );
    await ps(
      bob,
      "set",
      `<publish node='news'><item id='bobs'><entry xmlns='urn:test'>by bob</entry></item></publish>`,
    );
    const ev2 = await nextEvent(bob);
    assert.equal(
      ev2.getChild("event", NS_EVENT)!.getChild("items")!.getChild("item")!.attrs.publisher,
      "bob@localhost",
    );
    // max_items 5: the oldest went.
    assert.deepEqual(itemIds(await ps(alice, "get", `<items node='news'/>`)), [
      "bobs",
      genId,
      "three",
      "two",
      "one",
    ]);

    // ---- retract -------------------------------------------------------------------
    const retract = await ps(
      alice,
      "set",
      `<retract node='news' notify='true'><item id='one'/></retract>`,
    );
    assert.equal(retract.attrs.type, "result");
    const ev3 = await nextEvent(bob, (e) => e.getChild("items")?.getChild("retract") !== undefined);
    assert.equal(
      ev3.getChild("event", NS_EVENT)!.getChild("items")!.getChild("retract")!.attrs.id,
      "one",
    );
    const gone = await ps(alice, "set", `<retract node='news'><item id='one'/></retract>`);
    assert.equal(errorCondition(gone), "item-not-found");

    // ---- subscriptions: own list, options, owner management --------------------------------
    const mine = await ps(bob, "get", `<subscriptions/>`);
    const mineEl = mine.getChild("pubsub", NS_PUBSUB)!.getChild("subscriptions")!.getChild(
      "subscription",
    )!;
    assert.deepEqual([mineEl.attrs.node, mineEl.attrs.jid, mineEl.attrs.subid], [
      "news",
      "bob@localhost",
      subid,
    ]);
    const opts = await ps(bob, "get", `<options node='news' jid='bob@localhost'/>`);
    const optsFields = formFields(
      opts.getChild("pubsub", NS_PUBSUB)!.getChild("options")!.getChild("x", "jabber:x:data")!,
    );
    assert.deepEqual(optsFields.get("FORM_TYPE"), [SUBSCRIBE_OPTIONS]);
    assert.deepEqual(optsFields.get("pubsub#deliver"), ["1"]);
    const othersOpts = await ps(carol, "get", `<options node='news' jid='bob@localhost'/>`);
    assert.equal(errorCondition(othersOpts), "forbidden");
    const off = await ps(
      bob,
      "set",
      `<options node='news' jid='bob@localhost' subid='${subid}'>${
        submitForm(SUBSCRIBE_OPTIONS, { "pubsub#deliver": "0" })
      }</options>`,
    );
    assert.equal(off.attrs.type, "result");
    await ps(alice, "set", `<publish node='news'><item id='quiet'/></publish>`);
    await bob.nothing((e) => e.name === "message" && e.attrs.from === PUBSUB);
    await ps(
      bob,
      "set",
      `<options node='news' jid='bob@localhost'>${
        submitForm(SUBSCRIBE_OPTIONS, { "pubsub#deliver": "1" })
      }</options>`,
    );

    // carol no longer an outcast; the owner subscribes her.
    await ps(
      alice,
      "set",
      `<affiliations node='news'><affiliation jid='carol@localhost' affiliation='none'/></affiliations>`,
      NS_OWNER,
    );
    const ownerSub = await ps(
      alice,
      "set",
      `<subscriptions node='news'><subscription jid='carol@localhost/r' subscription='subscribed'/></subscriptions>`,
      NS_OWNER,
    );
    assert.equal(ownerSub.attrs.type, "result");
    const subs = await ps(alice, "get", `<subscriptions node='news'/>`, NS_OWNER);
    assert.deepEqual(
      subs.getChild("pubsub", NS_OWNER)!.getChild("subscriptions")!.getChildren("subscription").map(
        (
          s,
        ) => [s.attrs.jid, s.attrs.subscription],
      ).sort(),
      [["bob@localhost", "subscribed"], ["carol@localhost/r", "subscribed"]],
    );
    assert.equal(
      errorCondition(await ps(bob, "get", `<subscriptions node='news'/>`, NS_OWNER)),
      "forbidden",
    );

    // ---- purge -------------------------------------------------------------------
    assert.equal((await ps(alice, "set", `<purge node='news'/>`, NS_OWNER)).attrs.type, "result");
    for (const c of [bob, carol]) {
      await nextEvent(c, (e) => e.getChild("purge")?.attrs.node === "news");
    }
    assert.deepEqual(itemIds(await ps(bob, "get", `<items node='news'/>`)), []);

    // ---- unsubscribe -------------------------------------------------------------------
    const wrongSubid = await ps(
      bob,
      "set",
      `<unsubscribe node='news' jid='bob@localhost' subid='nope'/>`,
    );
    assert.equal(appCondition(wrongSubid), "invalid-subid");
    const unsub = await ps(
      bob,
      "set",
      `<unsubscribe node='news' jid='bob@localhost' subid='${subid}'/>`,
    );
    assert.equal(unsub.attrs.type, "result");
    const unsub2 = await ps(bob, "set", `<unsubscribe node='news' jid='bob@localhost'/>`);
    assert.equal(errorCondition(unsub2), "unexpected-request");
    assert.equal(appCondition(unsub2), "not-subscribed");

    // ---- disco -----------------------------------------------------------------------
    const info = await iq(
      alice,
      "di",
      `<iq type='get' id='di' to='${PUBSUB}'><query xmlns='${NS.discoInfo}'/></iq>`,
    );
    const q = info.getChild("query", NS.discoInfo)!;
    assert.deepEqual(
      [q.getChild("identity")!.attrs.category, q.getChild("identity")!.attrs.type],
      ["pubsub", "service"],
    );
    const features = q.getChildren("feature").map((f) => f.attrs.var);
    for (
      const f of [
        "",
        "#auto-create",
        "#create-nodes",
        "#publish",
        "#subscribe",
        "#retrieve-items",
        "#meta-data",
      ]
    ) {
      assert.ok(features.includes(NS_PUBSUB + f), f);
    }
    const items = await iq(
      alice,
      "dit",
      `<iq type='get' id='dit' to='${PUBSUB}'><query xmlns='${NS.discoItems}'/></iq>`,
    );
    assert.deepEqual(
      items.getChild("query", NS.discoItems)!.getChildren("item").map((
        i,
      ) => [i.attrs.jid, i.attrs.node]).sort(),
      [[PUBSUB, instantName], [PUBSUB, "news"]].sort(),
    );
    const nodeInfo = await iq(
      alice,
      "dn",
      `<iq type='get' id='dn' to='${PUBSUB}'><query xmlns='${NS.discoInfo}' node='news'/></iq>`,
    );
    const nq = nodeInfo.getChild("query", NS.discoInfo)!;
    assert.equal(nq.getChild("identity")!.attrs.type, "leaf");
    const meta = formFields(nq.getChild("x", "jabber:x:data")!);
    assert.deepEqual(meta.get("FORM_TYPE"), [NS_PUBSUB + "#meta-data"]);
    assert.deepEqual(meta.get("pubsub#title"), ["Daily News"]);
    assert.deepEqual(meta.get("pubsub#owner"), ["alice@localhost"]);

    // ---- delete with a redirect ---------------------------------------------------------
    assert.equal(
      errorCondition(await ps(bob, "set", `<delete node='news'/>`, NS_OWNER)),
      "forbidden",
    );
    const del = await ps(
      alice,
      "set",
      `<delete node='news'><redirect uri='xmpp:${PUBSUB}?;node=${instantName}'/></delete>`,
      NS_OWNER,
    );
    assert.equal(del.attrs.type, "result");
    const ev4 = await nextEvent(carol, (e) => e.getChild("delete") !== undefined);
    const deleted = ev4.getChild("event", NS_EVENT)!.getChild("delete")!;
    assert.equal(deleted.attrs.node, "news");
    assert.equal(deleted.getChild("redirect")!.attrs.uri, `xmpp:${PUBSUB}?;node=${instantName}`);
    assert.equal(errorCondition(await ps(alice, "get", `<items node='news'/>`)), "item-not-found");
    assert.equal(
      errorCondition(await ps(alice, "set", `<delete node='news'/>`, NS_OWNER)),
      "item-not-found",
    );
  } finally {
    for (const c of [alice, bob, carol]) c.close();
    await server.stop();
  }
});
