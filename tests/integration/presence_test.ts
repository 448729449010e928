import assert from "node:assert/strict";
import * as net from "node:net";
import { TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { imLogin } from "../helpers/im.ts";
import type { Element } from "../../src/xml/element.ts";
import type { Json } from "../../src/storage/types.ts";

const ROSTER = "jabber:iq:roster";
const PASSWORDS: Record<string, string> = { alice: "wonderland", bob: "builder", carol: "c" };
const USERS = PASSWORDS;

/** Log in and fetch the roster first (an interested resource), then send presence. */
const login = (server: TestServer, user: string, resource: string, presence?: string | false) =>
  imLogin(server, user, PASSWORDS[user], resource, presence);

const isPush = (e: Element) =>
  e.name === "iq" && e.attrs.type === "set" && e.getChild("query", ROSTER) !== undefined;

/** The next roster push, acknowledged; returns its item. */
async function push(c: TestClient): Promise<Element> {
  const iq = await c.stanza(isPush);
  c.send(`<iq type='result' id='${iq.attrs.id}'/>`);
  return iq.getChild("query", ROSTER)!.getChild("item")!;
}

const errorCondition = (e: Element) =>
  e.getChild("error")?.getChildren().find((c) => c.name !== "text")?.name;

function presence(from: string, type?: string) {
  return (e: Element) => e.name === "presence" && e.attrs.from === from && e.attrs.type === type;
}

async function seedRoster(
  server: TestServer,
  user: string,
  items: { jid: string; subscription: string }[],
): Promise<void> {
  await server.storage.keyval("localhost", "roster").set(user, {
    version: 1,
    items: items.map((i) => ({ ...i, groups: [] })) as Json[],
    pending: {},
  });
}

/** alice and bob subscribed both ways, in storage. */
async function friends(server: TestServer): Promise<void> {
  await seedRoster(server, "alice", [{ jid: "bob@localhost", subscription: "both" }]);
  await seedRoster(server, "bob", [{ jid: "alice@localhost", subscription: "both" }]);
}

Deno.test("the whole subscription handshake, both sides' pushes stanza by stanza", async () => {
  const server = await startTestServer({}, USERS);
  try {
    const alice = await login(server, "alice", "a");
    const bob = await login(server, "bob", "b");

    // 1. alice subscribes to bob (to his full JID: treated as his bare JID).
    alice.send("<presence to='bob@localhost/b' type='subscribe' id='sub1'/>");
    let item = await push(alice);
    assert.deepEqual([item.attrs.jid, item.attrs.subscription, item.attrs.ask], [
      "bob@localhost",
      "none",
      "subscribe",
    ]);
    const request = await bob.stanza((e) => e.name === "presence" && e.attrs.type === "subscribe");
    assert.equal(request.attrs.from, "alice@localhost", "stamped with the bare JID");
    assert.equal(request.attrs.to, "bob@localhost");
    assert.equal(request.attrs.id, "sub1");
    await bob.nothing(isPush, 50); // a pending request is not a roster item

    // 2. bob approves.
    bob.send("<presence to='alice@localhost' type='subscribed'/>");
    item = await push(bob);
    assert.deepEqual([item.attrs.jid, item.attrs.subscription, item.attrs.ask], [
      "alice@localhost",
      "from",
      undefined,
    ]);
    item = await push(alice);
    assert.deepEqual([item.attrs.subscription, item.attrs.ask], ["to", undefined]);
    const approved = await alice.stanza(presence("bob@localhost", "subscribed"));
    assert.equal(approved.attrs.to, "alice@localhost");
    // …and bob's presence follows his approval.
    await alice.stanza(presence("bob@localhost/b"));

    // 3. bob subscribes back, 4. alice approves.
    bob.send("<presence to='alice@localhost' type='subscribe'/>");
    item = await push(bob);
    assert.deepEqual([item.attrs.subscription, item.attrs.ask], ["from", "subscribe"]);
    await alice.stanza(presence("bob@localhost", "subscribe"));
    alice.send("<presence to='bob@localhost' type='subscribed'/>");
    item = await push(alice);
    assert.deepEqual([item.attrs.subscription, item.attrs.ask], ["both", undefined]);
    item = await push(bob);
    assert.deepEqual([item.attrs.subscription, item.attrs.ask], ["both", undefined]);
    await bob.stanza(presence("alice@localhost", "subscribed"));
    await bob.stanza(presence("alice@localhost/a"));

    // A subscribe when already subscribed is answered by alice's server (its
    // "subscribed" changes nothing for bob, so his server does not deliver it).
    bob.send("<presence to='alice@localhost' type='subscribe'/>");
    await alice.nothing(presence("bob@localhost", "subscribe"), 50);
    await bob.nothing(isPush, 50);

    // Presence now flows both ways.
    alice.send("<presence><show>away</show></presence>");
    const update = await bob.stanza(presence("alice@localhost/a"));
    assert.equal(update.getChildText("show"), "away");

    // 5. alice unsubscribes from bob: both → from for her, both → to for him.
    alice.send("<presence to='bob@localhost' type='unsubscribe'/>");
    item = await push(alice);
    assert.equal(item.attrs.subscription, "from");
    item = await push(bob);
    assert.equal(item.attrs.subscription, "to");
    await bob.stanza(presence("alice@localhost", "unsubscribe"));
    // bob's server stops sending his presence: alice sees him unavailable.
    await alice.stanza(presence("bob@localhost/b", "unavailable"));

    // 6. bob cancels alice's… no: alice cancels bob's subscription to her.
    alice.send("<presence to='bob@localhost' type='unsubscribed'/>");
    item = await push(alice);
    assert.equal(item.attrs.subscription, "none");
    item = await push(bob);
    assert.equal(item.attrs.subscription, "none");
    await bob.stanza(presence("alice@localhost", "unsubscribed"));
    await bob.stanza(presence("alice@localhost/a", "unavailable"));

    // No subscription left: a presence update reaches nobody else.
    alice.send("<presence><status>quiet</status></presence>");
    await bob.nothing((e) => e.name === "presence" && e.attrs.from === "alice@localhost/a", 100);
    alice.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("a pending request is stored and re-delivered at the next login", async () => {
  const server = await startTestServer({}, USERS);
  try {
    const alice = await login(server, "alice", "a");
    alice.send("<presence to='bob@localhost' type='subscribe'><status>hi bob</status></presence>");
    await push(alice);
    // bob is offline; he gets the request when he comes online…
    const bob = await login(server, "bob", "b1", false);
    bob.send("<presence/>");
    const req = await bob.stanza(presence("alice@localhost", "subscribe"));
    assert.equal(req.getChildText("status"), "hi bob");
    bob.close();
    // …and again at every login until he answers.
    const bob2 = await login(server, "bob", "b2", false);
    bob2.send("<presence/>");
    await bob2.stanza(presence("alice@localhost", "subscribe"));
    bob2.send("<presence to='alice@localhost' type='unsubscribed'/>");
    const denied = await push(alice);
    assert.deepEqual([denied.attrs.subscription, denied.attrs.ask], ["none", undefined]);
    await alice.stanza(presence("bob@localhost", "unsubscribed"));
    bob2.close();
    const bob3 = await login(server, "bob", "b3");
    await bob3.nothing(presence("alice@localhost", "subscribe"), 100);
    bob3.close();
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("a repeated request while one is pending is not delivered again; the first is kept", async () => {
  const server = await startTestServer({}, USERS);
  try {
    const alice = await login(server, "alice", "a");
    const bob = await login(server, "bob", "b");
    alice.send("<presence to='bob@localhost' type='subscribe'><status>first</status></presence>");
    await push(alice);
    const req = await bob.stanza(presence("alice@localhost", "subscribe"));
    assert.equal(req.getChildText("status"), "first");
    alice.send("<presence to='bob@localhost' type='subscribe'><status>again</status></presence>");
    await bob.nothing(presence("alice@localhost", "subscribe"), 100);
    // A second resource (the roster in memory) and a later login get the
    // stored request once, and it is the first one.
    for (const resource of ["b2", "b3"]) {
      const next = await login(server, "bob", resource, false);
      next.send("<presence/>");
      const stored = await next.stanza(presence("alice@localhost", "subscribe"));
      assert.equal(stored.getChildText("status"), "first", resource);
      await next.nothing(presence("alice@localhost", "subscribe"), 50);
      next.close();
      if (resource === "b2") bob.close();
    }
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("a stored request from a contact the user has since blocked is not re-delivered", async () => {
  const server = await startTestServer({}, USERS);
  try {
    const alice = await login(server, "alice", "a");
    const carol = await login(server, "carol", "c");
    alice.send("<presence to='bob@localhost' type='subscribe' id='from-alice'/>");
    carol.send("<presence to='bob@localhost' type='subscribe' id='from-carol'/>");
    await push(alice);
    await push(carol);
    // bob (offline until now) blocks alice before sending initial presence.
    const bob = await login(server, "bob", "b", false);
    bob.send(
      "<iq type='set' id='blk'><block xmlns='urn:xmpp:blocking'>" +
        "<item jid='alice@localhost'/></block></iq>",
    );
    await bob.stanza((e) => e.attrs.id === "blk" && e.attrs.type === "result");
    bob.send("<presence/>");
    await bob.stanza((e) => e.attrs.id === "from-carol");
    await bob.nothing((e) => e.attrs.id === "from-alice", 100);
    // Unblocked, the request (still stored) comes at the next login.
    bob.send(
      "<iq type='set' id='unblk'><unblock xmlns='urn:xmpp:blocking'>" +
        "<item jid='alice@localhost'/></unblock></iq>",
    );
    await bob.stanza((e) => e.attrs.id === "unblk" && e.attrs.type === "result");
    const bob2 = await login(server, "bob", "b2", false);
    bob2.send("<presence/>");
    await bob2.stanza((e) => e.attrs.id === "from-alice");
    for (const c of [alice, carol, bob, bob2]) c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("pre-approval: a later request is approved by the server", async () => {
  const server = await startTestServer({}, USERS);
  try {
    const alice = await login(server, "alice", "a");
    const bob = await login(server, "bob", "b");
    bob.send("<presence to='alice@localhost' type='subscribed'/>");
    let item = await push(bob);
    assert.deepEqual([item.attrs.subscription, item.attrs.approved], ["none", "true"]);
    await alice.nothing((e) => e.name === "presence" && e.attrs.type === "subscribed", 50);

    alice.send("<presence to='bob@localhost' type='subscribe'/>");
    item = await push(alice);
    assert.equal(item.attrs.ask, "subscribe");
    item = await push(bob);
    assert.deepEqual([item.attrs.subscription, item.attrs.approved], ["from", undefined]);
    item = await push(alice);
    assert.deepEqual([item.attrs.subscription, item.attrs.ask], ["to", undefined]);
    await alice.stanza(presence("bob@localhost", "subscribed"));
    await alice.stanza(presence("bob@localhost/b"));
    await bob.nothing(presence("alice@localhost", "subscribe"), 50);
    alice.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("subscription stanzas for accounts that do not exist are dropped", async () => {
  const server = await startTestServer({}, USERS);
  try {
    const alice = await login(server, "alice", "a");
    alice.send("<presence to='nobody@localhost' type='subscribe' id='n1'/>");
    await push(alice); // her side still records the request
    await alice.nothing((e) => e.attrs.id === "n1", 100);
    assert.equal(await server.storage.keyval("localhost", "roster").get("nobody"), undefined);
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("probes at login, broadcast of updates, unavailable on logout and on connection loss", async () => {
  const server = await startTestServer({}, USERS);
  try {
    await friends(server);
    const bob = await login(server, "bob", "b", "<presence><status>here</status></presence>");
    // alice logs in after bob: she receives bob's presence (probe answered)…
    const alice = await login(server, "alice", "a", false);
    alice.send("<presence/>");
    const bobs = await alice.stanza(presence("bob@localhost/b"));
    assert.equal(bobs.getChildText("status"), "here");
    assert.equal(bobs.attrs.to, "alice@localhost/a");
    // …and bob receives hers.
    await bob.stanza(presence("alice@localhost/a"));

    // A second resource of alice learns about the first and about bob.
    const alice2 = await login(server, "alice", "a2", false);
    alice2.send("<presence><priority>3</priority></presence>");
    await alice2.stanza(presence("alice@localhost/a"));
    await alice2.stanza(presence("bob@localhost/b"));
    await alice.stanza(presence("alice@localhost/a2"));
    await bob.stanza(presence("alice@localhost/a2"));

    // Updates are broadcast.
    bob.send("<presence><show>dnd</show></presence>");
    for (const c of [alice, alice2]) {
      assert.equal((await c.stanza(presence("bob@localhost/b"))).getChildText("show"), "dnd");
    }

    // Logout: unavailable to subscribers.
    alice2.send("<presence type='unavailable'/>");
    await bob.stanza(presence("alice@localhost/a2", "unavailable"));
    await alice.stanza(presence("alice@localhost/a2", "unavailable"));
    alice2.close();

    // Connection loss: the socket just dies.
    bob.socket.destroy();
    const gone = await alice.stanza(presence("bob@localhost/b", "unavailable"));
    assert.ok(gone.attrs.to === "alice@localhost");
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("directed presence reaches a non-contact, who gets unavailable at logout", async () => {
  const server = await startTestServer({}, USERS);
  try {
    const alice = await login(server, "alice", "a");
    const bob = await login(server, "bob", "b");
    const carol = await login(server, "carol", "c");
    alice.send("<presence to='bob@localhost'><status>psst</status></presence>");
    assert.equal((await bob.stanza(presence("alice@localhost/a"))).getChildText("status"), "psst");
    alice.send("<presence to='carol@localhost/c'/>");
    await carol.stanza(presence("alice@localhost/a"));
    // A broadcast update does not reach them (no subscription)…
    alice.send("<presence><show>xa</show></presence>");
    await bob.nothing(presence("alice@localhost/a"), 100);
    // …but the unavailable at the end does, also on connection loss.
    alice.socket.destroy();
    await bob.stanza(presence("alice@localhost/a", "unavailable"));
    await carol.stanza(presence("alice@localhost/a", "unavailable"));

    // Directed unavailable ends the tracking.
    const alice2 = await login(server, "alice", "a2");
    alice2.send("<presence to='bob@localhost'/>");
    await bob.stanza(presence("alice@localhost/a2"));
    alice2.send("<presence to='bob@localhost' type='unavailable'/>");
    await bob.stanza(presence("alice@localhost/a2", "unavailable"));
    alice2.close();
    await bob.nothing(presence("alice@localhost/a2", "unavailable"), 150);
    bob.close();
    carol.close();
  } finally {
    await server.stop();
  }
});

Deno.test("negative priority: still broadcast, but no bare-JID messages", async () => {
  // Without offline storage, so the message is refused rather than stored.
  const server = await startTestServer({ modules: ["roster", "presence"] }, USERS);
  try {
    await friends(server);
    const alice = await login(server, "alice", "a");
    const bob = await login(server, "bob", "neg", "<presence><priority>-1</priority></presence>");
    await alice.stanza(presence("bob@localhost/neg"));
    alice.send("<message to='bob@localhost' type='chat' id='m1'><body>1</body></message>");
    const err = await alice.stanza((e) => e.attrs.id === "m1");
    assert.equal(err.attrs.type, "error");
    await bob.nothing((e) => e.name === "message", 50);
    alice.send("<message to='bob@localhost/neg' type='chat' id='m2'><body>2</body></message>");
    await bob.stanza((e) => e.attrs.id === "m2");
    alice.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("presence errors: to a full JID that resource, to the bare JID every available one", async () => {
  const server = await startTestServer({}, USERS);
  try {
    const alice = await login(server, "alice", "a");
    const alice2 = await login(server, "alice", "a2");
    const hidden = await login(server, "alice", "h", false); // bound, not available
    const bob = await login(server, "bob", "b");
    bob.send(
      "<presence to='alice@localhost/a' type='error' id='e1'><error type='cancel'/></presence>",
    );
    await alice.stanza((e) => e.attrs.id === "e1" && e.attrs.type === "error");
    await alice2.nothing((e) => e.attrs.id === "e1", 50);
    // To the bare JID: it answers something the server sent from it (a
    // subscription request), so the user's available resources get it.
    bob.send(
      "<presence to='alice@localhost' type='error' id='e2'><error type='cancel'/></presence>",
    );
    await alice.stanza((e) => e.attrs.id === "e2" && e.attrs.type === "error");
    await alice2.stanza((e) => e.attrs.id === "e2" && e.attrs.type === "error");
    await hidden.nothing((e) => e.attrs.id === "e2", 50);
    alice.close();
    alice2.close();
    hidden.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("a subscription request that cannot be routed comes back to the user as an error", async () => {
  const server = await startTestServer({}, USERS);
  // A port that was just free and is closed again: no server for nowhere.test.
  const closed = await new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
  server.config.s2s.hosts["nowhere.test"] = `127.0.0.1:${closed}`;
  try {
    const alice = await login(server, "alice", "a");
    alice.send("<presence to='x@nowhere.test' type='subscribe' id='far'/>");
    const item = await push(alice);
    assert.deepEqual([item.attrs.jid, item.attrs.ask], ["x@nowhere.test", "subscribe"]);
    // Sent from her bare JID, bounced to it: delivered all the same (§3.1.2).
    const bounce = await alice.stanza((e) => e.attrs.id === "far");
    assert.equal(bounce.attrs.type, "error");
    assert.equal(bounce.attrs.from, "x@nowhere.test");
    assert.equal(bounce.attrs.to, "alice@localhost");
    assert.equal(errorCondition(bounce), "remote-server-not-found");
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("messages of every type keep the RFC 6121 §8.5 rules with roster and presence loaded", async () => {
  const server = await startTestServer({ modules: ["roster", "presence"] }, USERS);
  try {
    const alice = await login(server, "alice", "a");
    const bob = await login(server, "bob", "b");
    const send = (to: string, type: string, id: string) =>
      alice.send(`<message to='${to}' type='${type}' id='${id}'><body>x</body></message>`);
    const errorCondition = async (id: string) => {
      const e = await alice.stanza((s) => s.attrs.id === id);
      assert.equal(e.attrs.type, "error", id);
      return e.getChild("error")!.firstElement()!.name;
    };
    // Available recipient, bare and full JID.
    for (const type of ["chat", "normal", "headline"]) {
      send("bob@localhost", type, "bare-" + type);
      await bob.stanza((e) => e.attrs.id === "bare-" + type);
      send("bob@localhost/b", type, "full-" + type);
      await bob.stanza((e) => e.attrs.id === "full-" + type);
    }
    // A resource that is not there (§8.5.3.2.1): chat goes to the bare JID,
    // normal is answered with service-unavailable, headline is dropped.
    send("bob@localhost/zz", "chat", "other-chat");
    await bob.stanza((e) => e.attrs.id === "other-chat");
    send("bob@localhost/zz", "normal", "other-normal");
    assert.equal(await errorCondition("other-normal"), "service-unavailable");
    send("bob@localhost/zz", "headline", "other-headline");
    await bob.nothing((e) => e.attrs.id === "other-headline", 50);
    await alice.nothing((e) => e.attrs.id === "other-headline", 1);
    send("bob@localhost", "groupchat", "gc1");
    assert.equal(await errorCondition("gc1"), "service-unavailable");
    send("bob@localhost/b", "groupchat", "gc2");
    await bob.stanza((e) => e.attrs.id === "gc2"); // to a full JID it is delivered
    send("bob@localhost/zz", "groupchat", "gc3");
    assert.equal(await errorCondition("gc3"), "service-unavailable");
    send("bob@localhost", "error", "err1");
    await bob.nothing((e) => e.attrs.id === "err1", 50);
    send("bob@localhost/b", "error", "err2");
    await bob.stanza((e) => e.attrs.id === "err2");

    // No available resource (offline module not loaded).
    bob.close();
    await alice.nothing(() => false, 50);
    for (const type of ["chat", "normal"]) {
      send("bob@localhost", type, "off-" + type);
      assert.equal(await errorCondition("off-" + type), "service-unavailable");
      send("bob@localhost/b", type, "offfull-" + type);
      assert.equal(await errorCondition("offfull-" + type), "service-unavailable");
    }
    send("bob@localhost", "headline", "off-h");
    await alice.nothing((e) => e.attrs.id === "off-h", 50);
    send("bob@localhost", "groupchat", "off-gc");
    assert.equal(await errorCondition("off-gc"), "service-unavailable");
    send("bob@localhost", "error", "off-err");
    await alice.nothing((e) => e.attrs.id === "off-err", 50);
    // Connected but not available: only the full JID reaches it.
    const quiet = await login(server, "bob", "quiet", false);
    send("bob@localhost", "chat", "q1");
    assert.equal(await errorCondition("q1"), "service-unavailable");
    send("bob@localhost/quiet", "chat", "q2");
    await quiet.stanza((e) => e.attrs.id === "q2");
    quiet.close();
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("a removed account ends its subscriptions: contacts get unsubscribe/unsubscribed and pushes", async () => {
  const server = await startTestServer({ registration: { enabled: true } }, USERS);
  try {
    await seedRoster(server, "alice", [
      { jid: "bob@localhost", subscription: "both" },
      { jid: "carol@localhost", subscription: "to" },
    ]);
    await seedRoster(server, "bob", [{ jid: "alice@localhost", subscription: "both" }]);
    await seedRoster(server, "carol", [{ jid: "alice@localhost", subscription: "from" }]);
    const bob = await login(server, "bob", "b");
    const carol = await login(server, "carol", "c");
    const alice = await login(server, "alice", "a");
    await bob.stanza(presence(alice.jid!));

    alice.send(`<iq type='set' id='rm'><query xmlns='jabber:iq:register'><remove/></query></iq>`);
    await alice.waitClosed();

    // bob: alice's resource goes offline, then both directions end.
    await bob.stanza(presence(alice.jid!, "unavailable"));
    await bob.stanza(presence("alice@localhost", "unsubscribe"));
    await bob.stanza(presence("alice@localhost", "unsubscribed"));
    const bobItem = async () => {
      const it = await push(bob);
      assert.equal(it.attrs.jid, "alice@localhost");
      return it.attrs.subscription;
    };
    assert.equal(await bobItem(), "to");
    assert.equal(await bobItem(), "none");
    // carol only sent her presence to alice: that subscription ends.
    await carol.stanza(presence("alice@localhost", "unsubscribe"));
    const carolItem = await push(carol);
    assert.equal(carolItem.attrs.subscription, "none");
    assert.equal(await server.storage.keyval("localhost", "roster").get("alice"), undefined);
    bob.close();
    carol.close();
  } finally {
    await server.stop();
  }
});
