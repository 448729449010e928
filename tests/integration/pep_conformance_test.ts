/**
 * PEP (XEP-0163) and its compatibility layers, held to rules found
 * missing in review: each test names the rule.
 */
import assert from "node:assert/strict";
import { errorCondition, iq } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { capsLogin, event, NS_PUBSUB, publishXml, seedRoster } from "../helpers/pep.ts";

const B2 = "urn:xmpp:bookmarks:1";

Deno.test("bookmarks#compat-pep: private bookmarks 2 are not copied into a storage:bookmarks node contacts may read", async () => {
  const server = await startTestServer({}, { alice: "a", bob: "b" });
  try {
    await seedRoster(server, "alice", [{ jid: "bob@localhost", subscription: "both" }]);
    await seedRoster(server, "bob", [{ jid: "alice@localhost", subscription: "both" }]);
    const { client: old } = await capsLogin(server, "alice", "a", "old", [
      "storage:bookmarks+notify",
    ]);
    const { client: modern } = await capsLogin(server, "alice", "a", "modern", [B2 + "+notify"]);
    // An old client's XEP-0048 node without publish-options: PEP's default, presence access.
    const empty = `<storage xmlns='storage:bookmarks'/>`;
    const p1 = await iq(old, "p1", publishXml("p1", "storage:bookmarks", "current", empty));
    assert.equal(p1.attrs.type, "result", p1.toString());
    await event(old, "alice@localhost", "storage:bookmarks");

    // A XEP-0402 client keeps its bookmarks private (whitelist), password and all.
    const conf = `<conference xmlns='${B2}' name='S' autojoin='true'><password>secret</password>` +
      `</conference>`;
    const options = { "pubsub#access_model": "whitelist", "pubsub#persist_items": "true" };
    const p2 = await iq(
      modern,
      "p2",
      publishXml("p2", B2, "s@conference.localhost", conf, options),
    );
    assert.equal(p2.attrs.type, "result", p2.toString());
    await event(modern, "alice@localhost", B2);

    // Bob, a contact, reads alice's XEP-0048 node: the private bookmark is not there.
    const { client: bob } = await capsLogin(server, "bob", "b", "b", []);
    const r = await iq(
      bob,
      "x",
      `<iq type='get' id='x' to='alice@localhost'><pubsub xmlns='${NS_PUBSUB}'>` +
        `<items node='storage:bookmarks'/></pubsub></iq>`,
    );
    assert.equal(r.attrs.type, "result", r.toString());
    assert.ok(!r.toString().includes("secret"), r.toString());
    assert.ok(!r.toString().includes("s@conference.localhost"), r.toString());
  } finally {
    await server.stop();
  }
});

Deno.test("pep: unsubscribing someone else's JID is forbidden (XEP-0060 §6.2.3.3)", async () => {
  const server = await startTestServer({}, { alice: "a", bob: "b", carol: "c" });
  try {
    const { client: alice } = await capsLogin(server, "alice", "a", "a", []);
    const open = { "pubsub#access_model": "open" };
    const p = await iq(alice, "p", publishXml("p", "ex:open", "1", "<v xmlns='ex'/>", open));
    assert.equal(p.attrs.type, "result", p.toString());
    const { client: carol } = await capsLogin(server, "carol", "c", "c", []);
    const sub = await iq(
      carol,
      "s",
      `<iq type='set' id='s' to='alice@localhost'><pubsub xmlns='${NS_PUBSUB}'>` +
        `<subscribe node='ex:open' jid='carol@localhost'/></pubsub></iq>`,
    );
    assert.equal(sub.attrs.type, "result", sub.toString());
    const { client: bob } = await capsLogin(server, "bob", "b", "b", []);
    const r = await iq(
      bob,
      "u",
      `<iq type='set' id='u' to='alice@localhost'><pubsub xmlns='${NS_PUBSUB}'>` +
        `<unsubscribe node='ex:open' jid='carol@localhost'/></pubsub></iq>`,
    );
    assert.equal(errorCondition(r), "forbidden", r.toString());
  } finally {
    await server.stop();
  }
});

Deno.test("pep: an item replaced on a node that no longer persists leaves nothing stored (the quota counts only listed items)", async () => {
  const server = await startTestServer({}, { alice: "a" });
  try {
    const { client: alice } = await capsLogin(server, "alice", "a", "a", []);
    const p1 = await iq(alice, "p1", publishXml("p1", "ex:t", "a", "<v xmlns='ex'>old</v>"));
    assert.equal(p1.attrs.type, "result", p1.toString());
    const c = await iq(
      alice,
      "c",
      `<iq type='set' id='c'><pubsub xmlns='${NS_PUBSUB}#owner'><configure node='ex:t'>` +
        `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>` +
        `<value>${NS_PUBSUB}#node_config</value></field>` +
        `<field var='pubsub#persist_items'><value>0</value></field></x></configure></pubsub></iq>`,
    );
    assert.equal(c.attrs.type, "result", c.toString());
    const p2 = await iq(alice, "p2", publishXml("p2", "ex:t", "a", "<v xmlns='ex'>new</v>"));
    assert.equal(p2.attrs.type, "result", p2.toString());
    // The node lists no item "a" now (not persisted): its old payload must
    // not stay behind uncounted, or toggling persistence grows storage past the quota.
    const stored = await server.storage.map("localhost", "pep_items").get("alice", "ex:t\na");
    assert.equal(stored, undefined);
  } finally {
    await server.stop();
  }
});

Deno.test("bookmarks#compat: private-storage bookmarks are not copied into a bookmarks 2 node contacts may read", async () => {
  const server = await startTestServer({}, { alice: "a", bob: "b" });
  try {
    await seedRoster(server, "alice", [{ jid: "bob@localhost", subscription: "both" }]);
    await seedRoster(server, "bob", [{ jid: "alice@localhost", subscription: "both" }]);
    const { client: modern } = await capsLogin(server, "alice", "a", "modern", [B2 + "+notify"]);
    // A XEP-0402 client that forgot its publish-options: PEP's default, presence access.
    const open = `<conference xmlns='${B2}' name='O' autojoin='false'/>`;
    const p1 = await iq(modern, "p1", publishXml("p1", B2, "o@conference.localhost", open));
    assert.equal(p1.attrs.type, "result", p1.toString());
    await event(modern, "alice@localhost", B2);
    // A XEP-0049 client stores a room with its password, privately.
    const { client: legacy } = await capsLogin(server, "alice", "a", "legacy", []);
    const set = await iq(
      legacy,
      "s",
      `<iq type='set' id='s'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'>` +
        `<conference jid='s@conference.localhost' name='S'><password>secret</password></conference>` +
        `</storage></query></iq>`,
    );
    assert.equal(set.attrs.type, "result", set.toString());
    const { client: bob } = await capsLogin(server, "bob", "b", "b", []);
    const r = await iq(
      bob,
      "x",
      `<iq type='get' id='x' to='alice@localhost'><pubsub xmlns='${NS_PUBSUB}'>` +
        `<items node='${B2}'/></pubsub></iq>`,
    );
    assert.ok(!r.toString().includes("secret"), r.toString());
  } finally {
    await server.stop();
  }
});

Deno.test("pep: a subscription by a JID of hundreds of characters is refused (node records stay small)", async () => {
  // Each subscription is kept in the node's record, written whole on every
  // publish: 10000 JIDs of 3 KB were 30 MB, from strangers, on an open node.
  const server = await startTestServer({}, { alice: "a", bob: "b" });
  try {
    const { client: alice } = await capsLogin(server, "alice", "a", "a", []);
    const open = { "pubsub#access_model": "open" };
    const p = await iq(alice, "p", publishXml("p", "ex:open", "1", "<v xmlns='ex'/>", open));
    assert.equal(p.attrs.type, "result", p.toString());
    const { client: bob } = await capsLogin(server, "bob", "b", "b", []);
    const subscribe = (jid: string) =>
      iq(
        bob,
        "s",
        `<iq type='set' id='s' to='alice@localhost'><pubsub xmlns='${NS_PUBSUB}'>` +
          `<subscribe node='ex:open' jid='${jid}'/></pubsub></iq>`,
      );
    const long = await subscribe("bob@localhost/" + "r".repeat(600));
    assert.equal(errorCondition(long), "not-acceptable", long.toString());
    const fine = await subscribe("bob@localhost/" + "r".repeat(100));
    assert.equal(fine.attrs.type, "result", fine.toString());
  } finally {
    await server.stop();
  }
});
