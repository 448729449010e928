import assert from "node:assert/strict";
import { errorCondition, iq, type TestClient } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { capsLogin, event, NS_PUBSUB, publishXml, seedRoster } from "../helpers/pep.ts";

const OWNER = "http://jabber.org/protocol/pubsub#owner";
const ERRORS = "http://jabber.org/protocol/pubsub#errors";
const NICK = "http://jabber.org/protocol/nick";
const INFO = "http://jabber.org/protocol/disco#info";
const ITEMS = "http://jabber.org/protocol/disco#items";

const fetch = (c: TestClient, id: string, node: string, extra = "") =>
  iq(
    c,
    id,
    `<iq type='get' id='${id}' to='alice@localhost'><pubsub xmlns='${NS_PUBSUB}'>` +
      `<items node='${node}'${extra}/></pubsub></iq>`,
  );
const ownerSet = (c: TestClient, id: string, inner: string) =>
  iq(c, id, `<iq type='set' id='${id}'><pubsub xmlns='${OWNER}'>${inner}</pubsub></iq>`);
const itemIds = (r: Element) =>
  r.getChild("pubsub", NS_PUBSUB)!.getChild("items")!.getChildren("item").map((i) => i.attrs.id);
type Element = Awaited<ReturnType<typeof iq>>;

Deno.test("pep: access models presence, roster, whitelist, open; disco lists visible nodes", async () => {
  const server = await startTestServer({}, {
    alice: "a",
    bob: "b",
    carol: "c",
    dave: "d",
  });
  try {
    await seedRoster(server, "alice", [
      { jid: "bob@localhost", subscription: "from" },
      { jid: "carol@localhost", subscription: "to", groups: ["friends"] },
    ]);
    const { client: alice } = await capsLogin(server, "alice", "a", "a", []);
    const { client: bob } = await capsLogin(server, "bob", "b", "b", []);
    const { client: carol } = await capsLogin(server, "carol", "c", "c", []);
    const { client: dave } = await capsLogin(server, "dave", "d", "d", []);

    // Presence (the default): bob (from) yes, carol (to) and dave no.
    const nick = `<nick xmlns='${NICK}'>Alice</nick>`;
    assert.equal(
      (await iq(alice, "n", publishXml("n", NICK, undefined, nick))).attrs.type,
      "result",
    );
    assert.equal((await fetch(bob, "f1", NICK)).attrs.type, "result");
    const no = await fetch(carol, "f2", NICK);
    assert.equal(errorCondition(no), "not-authorized");
    assert.ok(no.getChild("error")?.getChild("presence-subscription-required", ERRORS));
    assert.equal(errorCondition(await fetch(dave, "f3", NICK)), "not-authorized");

    // Roster: the friends group only.
    const r = await iq(
      alice,
      "r",
      publishXml("r", "ex:roster", "1", "<v xmlns='ex'/>", {
        "pubsub#access_model": "roster",
        "pubsub#roster_groups_allowed": "friends",
      }),
    );
    assert.equal(r.attrs.type, "result", r.toString());
    assert.equal((await fetch(carol, "f4", "ex:roster")).attrs.type, "result");
    assert.equal(errorCondition(await fetch(bob, "f5", "ex:roster")), "not-authorized");

    // Whitelist: only members the owner names.
    await iq(
      alice,
      "w",
      publishXml("w", "ex:white", "1", "<v xmlns='ex'/>", {
        "pubsub#access_model": "whitelist",
      }),
    );
    const closed = await fetch(dave, "f6", "ex:white");
    assert.equal(errorCondition(closed), "not-allowed");
    assert.ok(closed.getChild("error")?.getChild("closed-node", ERRORS));
    const aff = await ownerSet(
      alice,
      "af",
      `<affiliations node='ex:white'><affiliation jid='dave@localhost' affiliation='member'/></affiliations>`,
    );
    assert.equal(aff.attrs.type, "result", aff.toString());
    assert.equal((await fetch(dave, "f7", "ex:white")).attrs.type, "result");

    // Open: anyone.
    await iq(
      alice,
      "o",
      publishXml("o", "ex:open", "1", "<v xmlns='ex'/>", {
        "pubsub#access_model": "open",
      }),
    );
    assert.equal((await fetch(carol, "f8", "ex:open")).attrs.type, "result");

    // disco#items of the account: the nodes each requester may see.
    const nodesFor = async (c: TestClient, id: string) => {
      const res = await iq(
        c,
        id,
        `<iq type='get' id='${id}' to='alice@localhost'><query xmlns='${ITEMS}'/></iq>`,
      );
      return res.getChild("query", ITEMS)!.getChildren("item").map((i) => i.attrs.node).sort();
    };
    assert.deepEqual(
      await nodesFor(alice, "d1"),
      [NICK, "ex:open", "ex:roster", "ex:white"].sort(),
    );
    assert.deepEqual(await nodesFor(bob, "d2"), [NICK, "ex:open"].sort());
    assert.deepEqual(await nodesFor(carol, "d3"), ["ex:open", "ex:roster"]);
    assert.deepEqual(await nodesFor(dave, "d4"), ["ex:open", "ex:white"]);

    // disco#info of the account: the pubsub/pep identity.
    const info = await iq(
      bob,
      "i",
      `<iq type='get' id='i' to='alice@localhost'><query xmlns='${INFO}'/></iq>`,
    );
    const ids = info.getChild("query", INFO)!.getChildren("identity").map((i) =>
      i.attrs.category + "/" + i.attrs.type
    );
    assert.ok(ids.includes("pubsub/pep"), info.toString());

    // disco#info of a node: its identity for those who may see it.
    const nodeInfo = (c: TestClient, id: string) =>
      iq(
        c,
        id,
        `<iq type='get' id='${id}' to='alice@localhost'><query xmlns='${INFO}' node='${NICK}'/></iq>`,
      );
    const leaf = await nodeInfo(bob, "ni1");
    assert.equal(leaf.getChild("query", INFO)?.getChild("identity")?.attrs.type, "leaf");
    assert.equal(errorCondition(await nodeInfo(carol, "ni2")), "item-not-found");

    // Only the owner publishes.
    const foreign = await iq(
      bob,
      "fp",
      `<iq type='set' id='fp' to='alice@localhost'><pubsub xmlns='${NS_PUBSUB}'><publish node='x'>` +
        `<item/></publish></pubsub></iq>`,
    );
    assert.equal(errorCondition(foreign), "forbidden");
  } finally {
    await server.stop();
  }
});

Deno.test("pep: item ids, max_items (incl. max), retract with notify, purge, delete", async () => {
  const server = await startTestServer({ pep: { maxItemsPerNode: 5 } }, { alice: "a", bob: "b" });
  try {
    await seedRoster(server, "alice", [{ jid: "bob@localhost", subscription: "both" }]);
    await seedRoster(server, "bob", [{ jid: "alice@localhost", subscription: "both" }]);
    const { client: alice } = await capsLogin(server, "alice", "a", "a", []);
    const { client: bob } = await capsLogin(server, "bob", "b", "b", ["ex:n+notify"]);
    const v = (n: number) => `<v xmlns='ex'>${n}</v>`;

    // Generated id when absent.
    const r = await iq(alice, "p0", publishXml("p0", "ex:n", undefined, v(0)));
    const genId = r.getChild("pubsub", NS_PUBSUB)!.getChild("publish")!.getChild("item")!.attrs.id;
    assert.ok(genId && genId.length > 0);
    assert.equal((await event(bob, "alice@localhost", "ex:n")).getChild("item")?.attrs.id, genId);

    // Default max_items 1: only the newest is kept.
    await iq(alice, "p1", publishXml("p1", "ex:n", "one", v(1)));
    await event(bob, "alice@localhost", "ex:n");
    assert.deepEqual(itemIds(await fetch(bob, "g1", "ex:n")), ["one"]);

    // max_items max = the configured cap (5).
    const conf = await ownerSet(
      alice,
      "c1",
      `<configure node='ex:n'><x xmlns='jabber:x:data' type='submit'>` +
        `<field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#node_config</value></field>` +
        `<field var='pubsub#max_items'><value>max</value></field></x></configure>`,
    );
    assert.equal(conf.attrs.type, "result", conf.toString());
    for (let i = 2; i <= 7; i++) {
      await iq(alice, "p" + i, publishXml("p" + i, "ex:n", "i" + i, v(i)));
      await event(bob, "alice@localhost", "ex:n");
    }
    assert.deepEqual(itemIds(await fetch(bob, "g2", "ex:n")), ["i7", "i6", "i5", "i4", "i3"]);
    assert.deepEqual(itemIds(await fetch(bob, "g3", "ex:n", " max_items='2'")), ["i7", "i6"]);
    const tooMany = await iq(
      alice,
      "pm",
      publishXml("pm", "ex:n", "x", v(9), { "pubsub#max_items": "6" }),
    );
    assert.equal(errorCondition(tooMany), "conflict");

    // Configure get shows the form.
    const form = await iq(
      alice,
      "cg",
      `<iq type='get' id='cg'><pubsub xmlns='${OWNER}'><configure node='ex:n'/></pubsub></iq>`,
    );
    assert.ok(form.toString().includes("pubsub#max_items"));

    // Retract with notify.
    const ret = await iq(
      alice,
      "rt",
      `<iq type='set' id='rt'><pubsub xmlns='${NS_PUBSUB}'><retract node='ex:n' notify='true'>` +
        `<item id='i7'/></retract></pubsub></iq>`,
    );
    assert.equal(ret.attrs.type, "result", ret.toString());
    const rev = await event(bob, "alice@localhost", "ex:n");
    assert.equal(rev.getChild("retract")?.attrs.id, "i7");
    assert.deepEqual(itemIds(await fetch(bob, "g4", "ex:n")), ["i6", "i5", "i4", "i3"]);

    // Purge, then delete: both notified; the node is gone after.
    assert.equal((await ownerSet(alice, "pu", `<purge node='ex:n'/>`)).attrs.type, "result");
    assert.equal((await event(bob, "alice@localhost", "ex:n")).name, "purge");
    assert.deepEqual(itemIds(await fetch(bob, "g5", "ex:n")), []);
    assert.equal((await ownerSet(alice, "de", `<delete node='ex:n'/>`)).attrs.type, "result");
    assert.equal((await event(bob, "alice@localhost", "ex:n")).name, "delete");
    assert.equal(errorCondition(await fetch(bob, "g6", "ex:n")), "item-not-found");

    // The account removed: its nodes go with it.
    await iq(alice, "keep", publishXml("keep", "ex:k", "1", v(1)));
    assert.ok((await server.storage.map("localhost", "pep_nodes").getAll("alice")).size > 0);
    await server.storage.deleteUser("localhost", "alice");
    assert.equal((await server.storage.map("localhost", "pep_nodes").getAll("alice")).size, 0);
    assert.equal((await server.storage.map("localhost", "pep_items").getAll("alice")).size, 0);
  } finally {
    await server.stop();
  }
});
