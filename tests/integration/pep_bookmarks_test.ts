import assert from "node:assert/strict";
import { iq, type TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import type { Element } from "../../src/xml/element.ts";
import { capsLogin, event, isEvent, NS_PUBSUB, publishXml } from "../helpers/pep.ts";

const B2 = "urn:xmpp:bookmarks:1";
const PRIVATE = "jabber:iq:private";
const getLegacy = (id: string) =>
  `<iq type='get' id='${id}'><query xmlns='${PRIVATE}'><storage xmlns='storage:bookmarks'/></query></iq>`;
const setLegacy = (id: string, inner: string) =>
  `<iq type='set' id='${id}'><query xmlns='${PRIVATE}'><storage xmlns='storage:bookmarks'>${inner}` +
  `</storage></query></iq>`;
/** Alice's resource that knows bookmarks 2 (and wants its notifications). */
async function modernLogin(server: TestServer): Promise<TestClient> {
  return (await capsLogin(server, "alice", "wonderland", "modern", [B2 + "+notify"])).client;
}

/** Bob, not alice's contact, asks for alice's bookmarks 2 items; the iq reply. */
async function bobReadsAlices(server: TestServer): Promise<Element> {
  const { client: bob } = await capsLogin(server, "bob", "builder", "b", []);
  return await iq(
    bob,
    "x",
    `<iq type='get' id='x' to='alice@localhost'><pubsub xmlns='${NS_PUBSUB}'><items node='${B2}'/></pubsub></iq>`,
  );
}

/** Alice's account disco#info, asked by `c`. */
function accountInfo(c: TestClient): Promise<Element> {
  return iq(
    c,
    "di",
    `<iq type='get' id='di' to='alice@localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
  );
}

const BOOKMARK_OPTIONS = {
  "pubsub#persist_items": "true",
  "pubsub#access_model": "whitelist",
  "pubsub#max_items": "max",
  "pubsub#send_last_published_item": "never",
};

Deno.test("bookmarks 2 published via PEP read back through private storage, and the reverse", async () => {
  const server = await startTestServer();
  try {
    const modern = await modernLogin(server);
    const { client: legacy } = await capsLogin(server, "alice", "wonderland", "legacy", []);

    // XEP-0402 → XEP-0048.
    const conf = `<conference xmlns='${B2}' name='Council' autojoin='true'><nick>al</nick>` +
      `</conference>`;
    const pub = await iq(
      modern,
      "p1",
      publishXml("p1", B2, "council@conference.localhost", conf, BOOKMARK_OPTIONS),
    );
    assert.equal(pub.attrs.type, "result", pub.toString());
    await event(modern, "alice@localhost", B2);
    const got = await iq(legacy, "g1", getLegacy("g1"));
    const storage = got.getChild("query", PRIVATE)!.getChild("storage", "storage:bookmarks")!;
    const c = storage.getChild("conference")!;
    assert.deepEqual(
      [c.attrs.jid, c.attrs.name, c.attrs.autojoin, c.getChildText("nick")],
      ["council@conference.localhost", "Council", "true", "al"],
    );

    // XEP-0048 → XEP-0402: a legacy write adds one bookmark and drops the other;
    // the modern resource is notified of both changes.
    const set = await iq(
      legacy,
      "s1",
      setLegacy(
        "s1",
        "<conference jid='lounge@conference.localhost' name='Lounge' autojoin='false'>" +
          "<nick>alice</nick><password>pw</password></conference>",
      ),
    );
    assert.equal(set.attrs.type, "result", set.toString());
    const retract = await event(modern, "alice@localhost", B2);
    assert.equal(retract.getChild("retract")?.attrs.id, "council@conference.localhost");
    const added = await event(modern, "alice@localhost", B2);
    const item = added.getChild("item")!;
    assert.equal(item.attrs.id, "lounge@conference.localhost");
    const c2 = item.getChild("conference", B2)!;
    assert.deepEqual(
      [c2.attrs.name, c2.attrs.autojoin, c2.getChildText("nick"), c2.getChildText("password")],
      ["Lounge", "false", "alice", "pw"],
    );
    const items = await iq(
      modern,
      "i1",
      `<iq type='get' id='i1'><pubsub xmlns='${NS_PUBSUB}'><items node='${B2}'/></pubsub></iq>`,
    );
    const ids = items.getChild("pubsub", NS_PUBSUB)!.getChild("items")!.getChildren("item").map(
      (i) => i.attrs.id,
    );
    assert.deepEqual(ids, ["lounge@conference.localhost"]);

    // The node stays private (whitelist): bob cannot read it.
    const denied = await bobReadsAlices(server);
    assert.equal(denied.attrs.type, "error");

    // Account disco#info advertises the compat feature.
    const info = await accountInfo(modern);
    assert.ok(info.toString().includes(`var='${B2}#compat'`));
  } finally {
    await server.stop();
  }
});

Deno.test("bookmarks in private storage before PEP move to the bookmarks 2 node on first read", async () => {
  const server = await startTestServer();
  try {
    await server.storage.map("localhost", "private").set(
      "alice",
      "storage storage:bookmarks",
      `<storage xmlns='storage:bookmarks'><conference jid='old@conference.localhost' ` +
        `name='Old' autojoin='true'><nick>al</nick></conference></storage>`,
    );
    const { client } = await capsLogin(server, "alice", "wonderland", "m", []);
    const items = await iq(
      client,
      "i1",
      `<iq type='get' id='i1'><pubsub xmlns='${NS_PUBSUB}'><items node='${B2}'/></pubsub></iq>`,
    );
    assert.equal(items.attrs.type, "result", items.toString());
    const item = items.getChild("pubsub", NS_PUBSUB)!.getChild("items")!.getChild("item")!;
    assert.equal(item.attrs.id, "old@conference.localhost");
    const conf = item.getChild("conference", B2)!;
    assert.deepEqual([conf.attrs.name, conf.attrs.autojoin, conf.getChildText("nick")], [
      "Old",
      "true",
      "al",
    ]);
    // The node has the XEP-0402 configuration: private to the account.
    const denied = await bobReadsAlices(server);
    assert.equal(denied.attrs.type, "error");
  } finally {
    await server.stop();
  }
});

Deno.test("bookmarks#compat-pep: XEP-0048 bookmarks in PEP and bookmarks 2 kept in step", async () => {
  const server = await startTestServer();
  try {
    const modern = await modernLogin(server);
    const { client: old } = await capsLogin(server, "alice", "wonderland", "old", [
      "storage:bookmarks+notify",
    ]);
    const legacy = `<storage xmlns='storage:bookmarks'><conference jid='a@conference.localhost' ` +
      `name='A' autojoin='true'><nick>al</nick></conference><url name='w' url='https://x.example/'/>` +
      `</storage>`;
    const opts = { "pubsub#access_model": "whitelist", "pubsub#persist_items": "true" };
    const pub = await iq(old, "p1", publishXml("p1", "storage:bookmarks", "current", legacy, opts));
    assert.equal(pub.attrs.type, "result", pub.toString());
    const added = await event(modern, "alice@localhost", B2);
    assert.equal(added.getChild("item")?.attrs.id, "a@conference.localhost");
    assert.equal(added.getChild("item")?.getChild("conference", B2)?.getChildText("nick"), "al");
    await event(old, "alice@localhost", "storage:bookmarks"); // its own publish

    // bookmarks 2 → the XEP-0048 PEP node, <url/> kept.
    const conf = `<conference xmlns='${B2}' name='B' autojoin='false'/>`;
    const p2 = await iq(modern, "p2", publishXml("p2", B2, "b@conference.localhost", conf));
    assert.equal(p2.attrs.type, "result", p2.toString());
    const upd = await event(old, "alice@localhost", "storage:bookmarks");
    const storage = upd.getChild("item")!.getChild("storage", "storage:bookmarks")!;
    assert.deepEqual(
      storage.getChildren("conference").map((c) => c.attrs.jid).sort(),
      ["a@conference.localhost", "b@conference.localhost"],
    );
    assert.equal(storage.getChild("url")?.attrs.url, "https://x.example/");

    const info = await accountInfo(modern);
    assert.ok(info.toString().includes(`var='${B2}#compat-pep'`));
  } finally {
    await server.stop();
  }
});

Deno.test("bookmarks: a legacy write with more bookmarks than a node keeps publishes no more than it keeps", async () => {
  const server = await startTestServer({ pep: { maxItemsPerNode: 2 } });
  try {
    const modern = await modernLogin(server);
    const { client: legacy } = await capsLogin(server, "alice", "wonderland", "legacy", []);
    const confs = [1, 2, 3, 4, 5].map((i) => `<conference jid='r${i}@conference.localhost'/>`);
    const set = await iq(legacy, "s", setLegacy("s", confs.join("")));
    assert.equal(set.attrs.type, "result", set.toString());
    await event(modern, "alice@localhost", B2);
    await event(modern, "alice@localhost", B2);
    await modern.nothing(isEvent("alice@localhost", B2), 100);
  } finally {
    await server.stop();
  }
});
