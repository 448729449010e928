import assert from "node:assert/strict";
import { errorCondition as condition, hostFeatures, iq, TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import type { Element } from "../../src/xml/element.ts";

const PASSWORDS: Record<string, string> = {
  alice: "wonderland",
  bob: "builder",
  carol: "singer",
};
const USERS = PASSWORDS;
const B = "urn:xmpp:blocking";

function login(
  server: TestServer,
  user: string,
  resource: string,
  options: { presence?: string | false; domain?: string } = {},
) {
  return TestClient.login({
    port: server.ports.c2s,
    user,
    password: PASSWORDS[user],
    resource,
    presence: options.presence,
    domain: options.domain,
  });
}

async function blocklist(c: TestClient, id: string): Promise<string[]> {
  const r = await iq(c, id, `<iq type='get' id='${id}'><blocklist xmlns='${B}'/></iq>`);
  assert.equal(r.attrs.type, "result", r.toString());
  return r.getChild("blocklist", B)!.getChildren("item").map((i) => i.attrs.jid).sort();
}

const isPush = (kind: string) => (e: Element) =>
  e.name === "iq" && e.attrs.type === "set" && e.getChild(kind, B) !== undefined;

const body = (text: string) => (e: Element) =>
  e.name === "message" && e.getChildText("body") === text;

Deno.test("blocking: block, push, list, enforcement both ways, unblock, delivered again", async () => {
  const server = await startTestServer({}, USERS);
  try {
    const a1 = await login(server, "alice", "a1");
    const a2 = await login(server, "alice", "a2");
    const a3 = await login(server, "alice", "a3"); // never asks for the list: no pushes
    const bob = await login(server, "bob", "b");
    const carol = await login(server, "carol", "c");
    assert.deepEqual(await blocklist(a1, "l1"), []);
    assert.deepEqual(await blocklist(a2, "l2"), []);

    // Before blocking, bob reaches alice.
    bob.send("<message to='alice@localhost/a1' type='chat'><body>before</body></message>");
    await a1.stanza(body("before"));

    const res = await iq(
      a1,
      "blk",
      `<iq type='set' id='blk'><block xmlns='${B}'><item jid='Bob@LOCALHOST'/></block></iq>`,
    );
    assert.equal(res.attrs.type, "result");
    // §3.3: pushed to every resource that retrieved the list, the JID prepared.
    for (const c of [a1, a2]) {
      const push = await c.stanza(isPush("block"));
      assert.equal(push.attrs.to, c.jid);
      assert.deepEqual(push.getChild("block", B)!.getChildren("item").map((i) => i.attrs.jid), [
        "bob@localhost",
      ]);
    }
    await a3.nothing(isPush("block"), 100);
    assert.deepEqual(await blocklist(a3, "l3"), ["bob@localhost"]);

    // Bob's messages are refused with service-unavailable and never arrive;
    // his iqs get service-unavailable too (alice looks offline).
    bob.send("<message to='alice@localhost' type='chat' id='m1'><body>blocked1</body></message>");
    bob.send(
      "<message to='alice@localhost/a2' type='chat' id='m2'><body>blocked2</body></message>",
    );
    for (const id of ["m1", "m2"]) {
      const err = await bob.stanza((e) => e.attrs.id === id);
      assert.equal(err.attrs.type, "error");
      assert.equal(condition(err), "service-unavailable");
    }
    const ping = await iq(
      bob,
      "p1",
      "<iq type='get' id='p1' to='alice@localhost/a1'><ping xmlns='urn:xmpp:ping'/></iq>",
    );
    assert.equal(condition(ping), "service-unavailable");
    const vcard = await iq(
      bob,
      "v1",
      "<iq type='get' id='v1' to='alice@localhost'><vCard xmlns='vcard-temp'/></iq>",
    );
    assert.equal(condition(vcard), "service-unavailable");
    // Presence from bob is dropped without an error.
    bob.send("<presence to='alice@localhost/a1'/>");
    // Carol is not blocked: her message goes through, after bob's would have.
    carol.send("<message to='alice@localhost/a1' type='chat'><body>from carol</body></message>");
    await a1.stanza(body("from carol"));
    for (const c of [a1, a2, a3]) {
      await c.nothing((e) => e.attrs.from?.startsWith("bob@") === true, 50);
    }
    await bob.nothing((e) => e.name === "presence" && e.attrs.type === "error", 10);

    // Alice's own stanzas to bob are refused with <blocked/>.
    a2.send("<message to='bob@localhost/b' type='chat' id='o1'><body>to bob</body></message>");
    const refused = await a2.stanza((e) => e.attrs.id === "o1");
    assert.equal(refused.attrs.type, "error");
    assert.equal(condition(refused), "not-acceptable");
    assert.ok(refused.getChild("error")?.getChild("blocked", "urn:xmpp:blocking:errors"));
    const iqOut = await iq(
      a1,
      "o2",
      "<iq type='get' id='o2' to='bob@localhost/b'><ping xmlns='urn:xmpp:ping'/></iq>",
    );
    assert.ok(iqOut.getChild("error")?.getChild("blocked", "urn:xmpp:blocking:errors"));
    await bob.nothing((e) => e.attrs.id === "o1" || e.attrs.id === "o2", 50);

    // Unblock: pushed, the list is empty, and messages flow again.
    const un = await iq(
      a2,
      "unb",
      `<iq type='set' id='unb'><unblock xmlns='${B}'><item jid='bob@localhost'/></unblock></iq>`,
    );
    assert.equal(un.attrs.type, "result");
    for (const c of [a1, a2, a3]) {
      const push = await c.stanza(isPush("unblock"));
      assert.equal(push.getChild("unblock", B)!.getChildren("item")[0].attrs.jid, "bob@localhost");
    }
    assert.deepEqual(await blocklist(a1, "l4"), []);
    bob.send("<message to='alice@localhost/a1' type='chat'><body>after</body></message>");
    await a1.stanza(body("after"));
    a1.send("<message to='bob@localhost/b' type='chat'><body>back to bob</body></message>");
    await bob.stanza(body("back to bob"));
    for (const c of [a1, a2, a3, bob, carol]) c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("blocking: unblock all, bad requests, the item limit and disco", async () => {
  const server = await startTestServer({ blocking: { maxItems: 3 } }, USERS);
  try {
    const a = await login(server, "alice", "a");
    const bob = await login(server, "bob", "b");
    await blocklist(a, "l0");
    const block = (id: string, items: string) =>
      iq(a, id, `<iq type='set' id='${id}'><block xmlns='${B}'>${items}</block></iq>`);
    assert.equal(
      (await block("b1", "<item jid='bob@localhost'/><item jid='x@y.example'/>")).attrs
        .type,
      "result",
    );
    await a.stanza(isPush("block"));
    // The limit counts JIDs already blocked once only.
    const over = await block("b2", "<item jid='bob@localhost'/><item jid='p@q'/><item jid='r@s'/>");
    assert.equal(condition(over), "not-acceptable");
    assert.deepEqual(await blocklist(a, "l1"), ["bob@localhost", "x@y.example"]);
    assert.equal(
      (await block("b3", "<item jid='bob@localhost'/><item jid='p@q'/>")).attrs.type,
      "result",
    );
    await a.stanza(isPush("block"));
    assert.equal(condition(await block("b4", "")), "bad-request");
    assert.equal(condition(await block("b5", "<item jid='a@b@c/'/>")), "jid-malformed");
    assert.equal(condition(await block("b6", "<item/>")), "bad-request");
    assert.equal(
      condition(
        await iq(
          a,
          "b7",
          `<iq type='set' id='b7'><unblock xmlns='${B}'><item jid='@'/></unblock></iq>`,
        ),
      ),
      "jid-malformed",
    );
    assert.deepEqual(await blocklist(a, "l2"), ["bob@localhost", "p@q", "x@y.example"]);

    // An empty unblock unblocks everyone, and the push says so.
    const all = await iq(a, "ua", `<iq type='set' id='ua'><unblock xmlns='${B}'/></iq>`);
    assert.equal(all.attrs.type, "result");
    const push = await a.stanza(isPush("unblock"));
    assert.equal(push.getChild("unblock", B)!.getChildren().length, 0);
    assert.deepEqual(await blocklist(a, "l3"), []);
    bob.send("<message to='alice@localhost/a' type='chat'><body>free</body></message>");
    await a.stanza(body("free"));
    // The list was cleared in storage too.
    assert.equal((await server.storage.map("localhost", "blocking").getAll("alice")).size, 0);

    const features = await hostFeatures(a);
    assert.ok(features?.includes(B), String(features));
    a.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("blocking: a blocked domain covers its users; a full JID only that resource", async () => {
  const server = await startTestServer({ hosts: ["localhost", "other.test"] }, USERS);
  try {
    const alice = await login(server, "alice", "a");
    const remoteBob = await login(server, "bob", "b", { domain: "other.test" });
    const remoteCarol = await login(server, "carol", "c", { domain: "other.test" });
    const bob1 = await login(server, "bob", "one");
    const bob2 = await login(server, "bob", "two");
    const r = await iq(
      alice,
      "d",
      `<iq type='set' id='d'><block xmlns='${B}'><item jid='other.test'/>` +
        `<item jid='bob@localhost/one'/></block></iq>`,
    );
    assert.equal(r.attrs.type, "result");
    for (const [c, id] of [[remoteBob, "x1"], [remoteCarol, "x2"], [bob1, "x3"]] as const) {
      c.send(`<message to='alice@localhost' type='chat' id='${id}'><body>${id}</body></message>`);
      assert.equal(condition(await c.stanza((e) => e.attrs.id === id)), "service-unavailable");
    }
    // bob's other resource is not blocked.
    bob2.send("<message to='alice@localhost' type='chat'><body>from two</body></message>");
    await alice.stanza(body("from two"));
    await alice.nothing(
      (e) => e.name === "message" && e.getChildText("body")?.startsWith("x") === true,
      50,
    );
    // Outbound: the domain's users, and that one resource, are refused.
    alice.send("<message to='carol@other.test' id='y1'><body>y</body></message>");
    assert.ok(
      (await alice.stanza((e) => e.attrs.id === "y1")).getChild("error")?.getChild(
        "blocked",
        "urn:xmpp:blocking:errors",
      ),
    );
    alice.send("<message to='bob@localhost/two' type='chat'><body>to two</body></message>");
    await bob2.stanza(body("to two"));
    for (const c of [alice, remoteBob, remoteCarol, bob1, bob2]) c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("blocking: the blocked contact gets unavailable presence and no more broadcasts", async () => {
  const server = await startTestServer({}, USERS);
  try {
    const alice = await login(server, "alice", "a");
    const alice2 = await login(server, "alice", "a2");
    const bob = await login(server, "bob", "b");
    // bob subscribes to alice's presence and alice approves (roster module).
    bob.send("<presence to='alice@localhost' type='subscribe'/>");
    await alice.stanza((e) => e.name === "presence" && e.attrs.type === "subscribe");
    alice.send("<presence to='bob@localhost' type='subscribed'/>");
    await bob.stanza((e) =>
      e.name === "presence" && e.attrs.from === "alice@localhost/a" && !e.attrs.type
    );
    // Settle: alice's update reaches bob before blocking.
    alice.send("<presence><show>away</show></presence>");
    await bob.stanza((e) => e.name === "presence" && e.getChildText("show") === "away");

    await iq(
      alice,
      "blk",
      `<iq type='set' id='blk'><block xmlns='${B}'><item jid='bob@localhost'/></block></iq>`,
    );
    // §3.3: one unavailable presence from each of alice's available resources.
    const seen = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const p = await bob.stanza((e) => e.name === "presence" && e.attrs.type === "unavailable");
      seen.add(p.attrs.from);
    }
    assert.deepEqual([...seen].sort(), ["alice@localhost/a", "alice@localhost/a2"]);
    // Later broadcasts skip the blocked subscriber.
    alice.send("<presence><show>dnd</show></presence>");
    await alice2.stanza((e) => e.name === "presence" && e.getChildText("show") === "dnd");
    await bob.nothing((e) => e.name === "presence" && e.getChildText("show") === "dnd", 100);
    for (const c of [alice, alice2, bob]) c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("blocking: a blocked subscriber logging in gets no presence from the blocker", async () => {
  const server = await startTestServer({}, USERS);
  try {
    const alice = await login(server, "alice", "a");
    let bob = await login(server, "bob", "b");
    bob.send("<presence to='alice@localhost' type='subscribe'/>");
    await alice.stanza((e) => e.name === "presence" && e.attrs.type === "subscribe");
    alice.send("<presence to='bob@localhost' type='subscribed'/>");
    await bob.stanza((e) =>
      e.name === "presence" && e.attrs.from === "alice@localhost/a" && !e.attrs.type
    );
    await iq(
      alice,
      "blk",
      `<iq type='set' id='blk'><block xmlns='${B}'><item jid='bob@localhost'/></block></iq>`,
    );
    bob.close();
    await bob.waitClosed();
    // At login, bob's probe of alice (answered by the server) must not leak her presence.
    bob = await login(server, "bob", "b2");
    await bob.nothing((e) => e.name === "presence" && e.attrs.from === "alice@localhost/a", 300);
    alice.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("blocking: block and unblock send presence only to a contact allowed to see it", async () => {
  const server = await startTestServer({}, USERS);
  try {
    // Subscription state comes from the roster module's
    // `roster/get-subscription`; answer it here so the test does not
    // depend on how the roster module stores it.
    server.hosts.get("localhost")!.events.on(
      "roster/get-subscription",
      (q: { owner: string; contact: string; subscription?: string }) => {
        if (q.owner === "alice") q.subscription = q.contact === "bob@localhost" ? "from" : "none";
        return true;
      },
      1000,
    );
    const alice = await login(server, "alice", "a", {
      presence: "<presence><status>here</status></presence>",
    });
    const bob = await login(server, "bob", "b");
    const carol = await login(server, "carol", "c");
    await alice.stanza((e) => e.name === "presence" && e.getChildText("status") === "here");
    await iq(
      alice,
      "blk",
      `<iq type='set' id='blk'><block xmlns='${B}'><item jid='bob@localhost'/>` +
        `<item jid='carol@localhost'/></block></iq>`,
    );
    await bob.stanza((e) => e.name === "presence" && e.attrs.type === "unavailable");
    // §3.3: carol never could see alice's presence; blocking her must not
    // reveal alice's resources either.
    await carol.nothing((e) => e.name === "presence" && e.attrs.from === "alice@localhost/a", 100);
    await iq(alice, "unb", `<iq type='set' id='unb'><unblock xmlns='${B}'/></iq>`);
    const back = await bob.stanza((e) =>
      e.name === "presence" && e.attrs.from === "alice@localhost/a"
    );
    assert.equal(back.attrs.type, undefined);
    assert.equal(back.getChildText("status"), "here");
    // carol has no subscription: she learns nothing.
    await carol.nothing(
      (e) => e.name === "presence" && e.attrs.from === "alice@localhost/a" && !e.attrs.type,
      100,
    );
    for (const c of [alice, bob, carol]) c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("blocking: a contact holding directed presence (no subscription) is told the user went offline", async () => {
  const server = await startTestServer({}, USERS);
  try {
    const alice = await login(server, "alice", "a");
    const carol = await login(server, "carol", "c");
    // Directed presence (RFC 6121 §4.6): carol sees alice online without a subscription.
    alice.send("<presence to='carol@localhost/c'><status>hi</status></presence>");
    await carol.stanza((e) => e.name === "presence" && e.getChildText("status") === "hi");
    await iq(
      alice,
      "blk",
      `<iq type='set' id='blk'><block xmlns='${B}'><item jid='carol@localhost'/></block></iq>`,
    );
    const p = await carol.stanza((e) => e.name === "presence" && e.attrs.type === "unavailable");
    assert.equal(p.attrs.from, "alice@localhost/a");
    // Once only.
    await carol.nothing((e) => e.name === "presence" && e.attrs.type === "unavailable", 100);
    for (const c of [alice, carol]) c.close();
  } finally {
    await server.stop();
  }
});
