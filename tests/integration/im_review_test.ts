/**
 * Findings of the IM core review (RFC 6121, XEP-0191/0160/0054/0049/0012):
 * each test failed before its fix.
 */
import assert from "node:assert/strict";
import { errorCondition } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { imLogin, untilStored } from "../helpers/im.ts";
import type { Element } from "../../src/xml/element.ts";

const PASSWORDS: Record<string, string> = { alice: "wonderland", bob: "builder", carol: "c" };

const login = (server: TestServer, user: string, resource: string, presence?: string | false) =>
  imLogin(server, user, PASSWORDS[user], resource, presence);

function presence(from: string, type?: string) {
  return (e: Element) => e.name === "presence" && e.attrs.from === from && e.attrs.type === type;
}

Deno.test("directed presence: the addresses one resource tracks are bounded (roster.maxItems)", async () => {
  const server = await startTestServer({ roster: { maxItems: 2 } }, PASSWORDS);
  try {
    const alice = await login(server, "alice", "a");
    const bob = await login(server, "bob", "b");
    alice.send("<presence to='x1@localhost'/>");
    alice.send("<presence to='x2@localhost'/>");
    // Again to one already tracked: no new address.
    alice.send("<presence to='x2@localhost'><show>away</show></presence>");
    // A third address would grow the set owed unavailable at logout: refused.
    alice.send("<presence to='bob@localhost' id='d3'/>");
    const refused = await alice.stanza((e) => e.name === "presence" && e.attrs.id === "d3");
    assert.equal(refused.attrs.type, "error");
    assert.equal(errorCondition(refused), "resource-constraint");
    await bob.nothing(presence("alice@localhost/a"), 100);
    // Directed unavailable frees a slot.
    alice.send("<presence to='x1@localhost' type='unavailable'/>");
    alice.send("<presence to='bob@localhost'/>");
    await bob.stanza(presence("alice@localhost/a"));
    alice.close();
    await bob.stanza(presence("alice@localhost/a", "unavailable"));
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("offline messages from a JID the user has blocked since are not delivered (XEP-0191 §3.3)", async () => {
  const server = await startTestServer({}, PASSWORDS);
  try {
    const alice = await login(server, "alice", "a");
    const carol = await login(server, "carol", "c");
    alice.send("<message to='bob@localhost' type='chat' id='m1'><body>spam</body></message>");
    carol.send("<message to='bob@localhost' type='chat' id='m2'><body>hello</body></message>");
    await untilStored(server, "bob", 2);
    // bob comes online without presence, blocks alice, then becomes available.
    const bob = await login(server, "bob", "b", false);
    bob.send(
      "<iq type='set' id='blk'><block xmlns='urn:xmpp:blocking'>" +
        "<item jid='alice@localhost'/></block></iq>",
    );
    assert.equal((await bob.stanza((e) => e.attrs.id === "blk")).attrs.type, "result");
    bob.send("<presence/>");
    const got = await bob.stanza((e) => e.name === "message");
    assert.equal(got.attrs.id, "m2");
    await bob.nothing((e) => e.name === "message", 150);
    // Not kept for after an unblock either: the box is empty.
    await untilStored(server, "bob", 0);
    alice.close();
    carol.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("a stored subscription request keeps at most MAX_KEPT_REQUEST_BYTES of attributes too", async () => {
  const server = await startTestServer({}, PASSWORDS);
  try {
    const alice = await login(server, "alice", "a");
    const bob = await login(server, "bob", "b");
    // What a stranger's request carries is stored and re-sent at each login:
    // an attribute of 100 KB must not ride along (children were bounded already).
    const junk = "x".repeat(100_000);
    bob.send(
      `<presence to='alice@localhost' type='subscribe' id='s1' junk='${junk}'>` +
        `<status>hi</status></presence>`,
    );
    const delivered = await alice.stanza(presence("bob@localhost", "subscribe"));
    assert.equal(delivered.attrs.id, "s1");
    const roster = await server.storage.keyval("localhost", "roster").get("alice");
    assert.ok(JSON.stringify(roster).length < 4096, "the kept request stays small");
    alice.close();
    // Re-delivered at the next login: bounded, its id and status kept.
    const again = await login(server, "alice", "a2");
    const kept = await again.stanza(presence("bob@localhost", "subscribe"));
    assert.equal(kept.attrs.id, "s1");
    assert.equal(kept.attrs.junk, undefined);
    assert.equal(kept.getChildText("status"), "hi");
    again.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("login probe of an online local contact that has no subscription for us: unsubscribed (RFC 6121 §4.3.2)", async () => {
  const server = await startTestServer({}, PASSWORDS);
  try {
    // A one-sided state (an import, a crash between the two roster writes):
    // alice has 'to' for bob, bob has nothing for alice.
    await server.storage.keyval("localhost", "roster").set("alice", {
      version: 1,
      items: [{ jid: "bob@localhost", subscription: "to", groups: [] }],
      pending: {},
    });
    const bob = await login(server, "bob", "b");
    const alice = await login(server, "alice", "a");
    // The answer a probe would get ends alice's stale subscription.
    const push = await alice.stanza((e) =>
      e.name === "iq" && e.attrs.type === "set" &&
      e.getChild("query", "jabber:iq:roster")?.getChild("item")?.attrs.subscription === "none"
    );
    assert.equal(
      push.getChild("query", "jabber:iq:roster")!.getChild("item")!.attrs.jid,
      "bob@localhost",
    );
    await alice.stanza(presence("bob@localhost", "unsubscribed"));
    // And bob's presence never reached her.
    await alice.nothing(presence("bob@localhost/b"), 100);
    alice.close();
    bob.close();
  } finally {
    await server.stop();
  }
});
