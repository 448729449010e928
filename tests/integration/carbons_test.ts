import assert from "node:assert/strict";
import { errorCondition, hostFeatures, type TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { imLogin } from "../helpers/im.ts";
import {
  barrier,
  carbon,
  carbonOf,
  CARBONS,
  isAnyCarbon,
  switchCarbons,
  takeCarbons,
} from "../helpers/carbons.ts";
import { connectComponent } from "../helpers/component.ts";

const PASSWORDS: Record<string, string> = { alice: "wonderland", bob: "builder" };

function login(server: TestServer, user: string, resource: string, priority = 0) {
  const presence = priority === 0
    ? "<presence/>"
    : `<presence><priority>${priority}</priority></presence>`;
  return imLogin(server, user, PASSWORDS[user], resource, presence);
}

interface Alice {
  a1: TestClient;
  a2: TestClient;
  /** Logged in, carbons never enabled. */
  a3: TestClient;
  bob: TestClient;
}

/**
 * Three resources of alice, carbons on a1 and a2. a3 has the highest
 * priority, so a message to alice's bare JID is delivered to it alone.
 */
async function threeResources(server: TestServer): Promise<Alice> {
  const a1 = await login(server, "alice", "a1");
  const a2 = await login(server, "alice", "a2");
  const a3 = await login(server, "alice", "a3", 5);
  const bob = await login(server, "bob", "b");
  for (const c of [a1, a2]) assert.equal((await switchCarbons(c, true)).attrs.type, "result");
  return { a1, a2, a3, bob };
}

function closeAll(clients: Alice) {
  for (const c of Object.values(clients)) c.close();
}

/** None of `clients` received a carbon (so far: use after a barrier). */
function noCarbons(...clients: TestClient[]) {
  for (const c of clients) assert.deepEqual(takeCarbons(c).map(String), [], c.jid);
}

const msg = (to: string, body: string, type = "chat", extra = "") =>
  `<message to='${to}' type='${type}' id='${body}'><body>${body}</body>${extra}</message>`;

Deno.test("carbons: advertised, switched per resource, refused for someone else", async () => {
  const server = await startTestServer();
  try {
    const a = await login(server, "alice", "a");
    const features = await hostFeatures(a);
    assert.ok(features.includes(CARBONS));
    assert.ok(features.includes("urn:xmpp:carbons:rules:0"));
    // No `to`, the own bare JID, twice in a row (§10.1: no error), and off again.
    for (const to of [undefined, "alice@localhost", undefined]) {
      assert.equal((await switchCarbons(a, true, to)).attrs.type, "result");
    }
    const off = await switchCarbons(a, false);
    assert.equal(off.attrs.type, "result");
    assert.equal(off.attrs.from, undefined, "asked of no address, answered from none");
    assert.equal((await switchCarbons(a, false)).attrs.type, "result");
    const other = await switchCarbons(a, true, "bob@localhost");
    assert.equal(errorCondition(other), "not-allowed");
    a.close();
  } finally {
    await server.stop();
  }
});

Deno.test("carbons: received and sent copies go to the other enabled resources only", async () => {
  const server = await startTestServer();
  const c = await threeResources(server);
  const { a1, a2, a3, bob } = c;
  try {
    // To a full JID: a1 gets the original, a2 the copy, a3 nothing.
    bob.send(msg("alice@localhost/a1", "full-1"));
    const original = await a1.stanza((e) => e.getChildText("body") === "full-1");
    assert.equal(carbonOf(original, "received"), undefined);
    const { wrapper, inner } = await carbon(a2, "received", "full-1");
    assert.equal(wrapper.attrs.from, "alice@localhost");
    assert.equal(wrapper.attrs.to, "alice@localhost/a2");
    assert.equal(wrapper.attrs.type, "chat");
    assert.equal(inner.attrs.xmlns, "jabber:client");
    assert.equal(inner.attrs.from, "bob@localhost/b");
    assert.equal(inner.attrs.to, "alice@localhost/a1");
    assert.equal(inner.attrs.id, "full-1");

    // To the bare JID: a3 (top priority) gets the original, a1 and a2 copies.
    bob.send(msg("alice@localhost", "bare-1"));
    await a3.stanza((e) => e.getChildText("body") === "bare-1");
    await carbon(a1, "received", "bare-1");
    await carbon(a2, "received", "bare-1");

    // A chat to a resource that is not there goes to the bare JID (RFC 6121 §8.5.3.2.1).
    bob.send(msg("alice@localhost/gone", "gone-1"));
    await a3.stanza((e) => e.getChildText("body") === "gone-1");
    await carbon(a1, "received", "gone-1");
    await carbon(a2, "received", "gone-1");
    // A normal one is bounced: nobody gets it, no copies either.
    bob.send(msg("alice@localhost/gone", "gone-2", "normal"));
    const bounce = await bob.stanza((e) => e.attrs.id === "gone-2");
    assert.equal(errorCondition(bounce), "service-unavailable");

    // Sent by a1: a2 gets a <sent/> copy; a1 itself and a3 none.
    a1.send(msg("bob@localhost", "sent-1"));
    await bob.stanza((e) => e.getChildText("body") === "sent-1");
    const sent = await carbon(a2, "sent", "sent-1");
    assert.equal(sent.wrapper.attrs.from, "alice@localhost");
    assert.equal(sent.wrapper.attrs.to, "alice@localhost/a2");
    assert.equal(sent.inner.attrs.from, "alice@localhost/a1");
    assert.equal(sent.inner.attrs.to, "bob@localhost");
    // Sent by a3, which never enabled carbons: a1 and a2 still see it (§7).
    a3.send(msg("bob@localhost/b", "sent-2"));
    await carbon(a1, "sent", "sent-2");
    await carbon(a2, "sent", "sent-2");

    await barrier(bob, a3);
    await barrier(a1, a1);
    await barrier(a3, a3);
    noCarbons(a1, a3);
    // Exactly one copy of each for a2.
    await barrier(bob, a2);
    noCarbons(a2);

    // Disabled: no more copies for a2.
    await switchCarbons(a2, false);
    bob.send(msg("alice@localhost/a1", "full-2"));
    await a1.stanza((e) => e.getChildText("body") === "full-2");
    a1.send(msg("bob@localhost", "sent-3"));
    await bob.stanza((e) => e.getChildText("body") === "sent-3");
    await barrier(bob, a2);
    await barrier(a1, a2);
    noCarbons(a2, a3);
  } finally {
    closeAll(c);
    await server.stop();
  }
});

Deno.test("carbons: <private/> and <no-copy/> keep a message out of copies", async () => {
  const server = await startTestServer();
  const c = await threeResources(server);
  const { a1, a2, a3, bob } = c;
  try {
    const priv = `<private xmlns='${CARBONS}'/>`;
    const noCopy = "<no-copy xmlns='urn:xmpp:hints'/>";
    // Sent with <private/>: no sent copy; the receiving server (this one) strips it (§8).
    a1.send(msg("bob@localhost", "p-1", "chat", priv + noCopy));
    const atBob = await bob.stanza((e) => e.getChildText("body") === "p-1");
    assert.equal(atBob.getChild("private", CARBONS), undefined);
    assert.ok(atBob.getChild("no-copy", "urn:xmpp:hints"), "the hint itself stays");
    // Only <private/>, only <no-copy/>: no copies either.
    a1.send(msg("bob@localhost", "p-2", "chat", priv));
    a1.send(msg("bob@localhost", "p-3", "chat", noCopy));
    await bob.stanza((e) => e.getChildText("body") === "p-3");
    // Received with either: the addressed resource only.
    bob.send(msg("alice@localhost/a1", "p-4", "chat", priv));
    bob.send(msg("alice@localhost/a1", "p-5", "chat", noCopy));
    const p4 = await a1.stanza((e) => e.getChildText("body") === "p-4");
    assert.equal(p4.getChild("private", CARBONS), undefined);
    await a1.stanza((e) => e.getChildText("body") === "p-5");
    // To the bare JID, <private/> still goes where RFC 6121 delivers it (a3).
    bob.send(msg("alice@localhost", "p-6", "chat", priv));
    await a3.stanza((e) => e.getChildText("body") === "p-6");
    await barrier(a1, a2);
    await barrier(bob, a2);
    await barrier(bob, a1);
    noCarbons(a1, a2, a3);
  } finally {
    closeAll(c);
    await server.stop();
  }
});

Deno.test("carbons: which messages are copied (XEP-0280 §6)", async () => {
  const server = await startTestServer();
  const c = await threeResources(server);
  const { a1, a2, a3, bob } = c;
  try {
    const to = "alice@localhost/a1";
    const send = (xml: string) => bob.send(xml);
    // Not copied: normal without a body, headline, groupchat (bounced), a MUC
    // private message from an occupant, a forged carbon.
    send(`<message to='${to}' id='n1'><subject>only a subject</subject></message>`);
    send(`<message to='${to}' type='headline' id='h1'><body>news</body></message>`);
    send(`<message to='${to}' type='groupchat' id='g1'><body>room</body></message>`);
    send(msg(to, "mucpm", "chat", "<x xmlns='http://jabber.org/protocol/muc#user'/>"));
    const forged = `<received xmlns='${CARBONS}'><forwarded xmlns='urn:xmpp:forward:0'>` +
      `<message xmlns='jabber:client' from='eve@localhost' to='alice@localhost'>` +
      `<body>forged inner</body></message></forwarded></received>`;
    send(msg(to, "forged", "chat", forged));
    // Copied: normal with a body, a chat state alone in a normal message,
    // a receipt, a direct MUC invitation.
    send(msg(to, "normal-1", "normal"));
    send(
      `<message to='${to}' id='cs'><composing xmlns='http://jabber.org/protocol/chatstates'/>` +
        `</message>`,
    );
    send(`<message to='${to}' id='rc'><received xmlns='urn:xmpp:receipts' id='x'/></message>`);
    send(
      `<message to='${to}' id='inv'><x xmlns='jabber:x:conference' jid='room@muc.localhost'/>` +
        `</message>`,
    );
    // The forged carbon reaches a1 without its wrapper.
    const f = await a1.stanza((e) => e.attrs.id === "forged");
    assert.equal(f.getChild("received", CARBONS), undefined);
    assert.equal(f.getChildText("body"), "forged");
    await barrier(bob, a2);
    const ids = takeCarbons(a2).map((e) => carbonOf(e, "received")!.attrs.id);
    assert.deepEqual(ids, ["normal-1", "cs", "rc", "inv"]);
    // Sent side: a MUC private message *to* an occupant is copied, groupchat is not.
    a1.send(
      msg(
        "room@muc.localhost/nick",
        "pm-out",
        "chat",
        "<x xmlns='http://jabber.org/protocol/muc#user'/>",
      ),
    );
    a1.send(
      `<message to='room@muc.localhost' type='groupchat' id='g2'><body>room</body></message>`,
    );
    await barrier(a1, a2);
    // Only the sent ones: muc.localhost is no server here, and its bounce (an error from the
    // room's bare JID) may arrive as a received carbon before the barrier or after it.
    const sent = takeCarbons(a2).flatMap((e) => carbonOf(e, "sent")?.attrs.id ?? []);
    assert.deepEqual(sent, ["pm-out"]);
    await barrier(bob, a3);
    noCarbons(a3);
  } finally {
    closeAll(c);
    await server.stop();
  }
});

Deno.test("carbons: messages to the own account are copied once, never to the sender", async () => {
  const server = await startTestServer();
  const c = await threeResources(server);
  const { a1, a2, a3 } = c;
  try {
    // To the own bare JID: a3 (top priority) gets it, a2 a received copy, a1 nothing.
    a1.send(msg("alice@localhost", "self-1"));
    await a3.stanza((e) => e.getChildText("body") === "self-1");
    await carbon(a2, "received", "self-1");
    // To another own resource: a2 the original, nobody else anything (a3 is disabled).
    a1.send(msg("alice@localhost/a2", "self-2"));
    await a2.stanza((e) => e.getChildText("body") === "self-2" && !isAnyCarbon(e));
    await barrier(a1, a1);
    await barrier(a1, a2);
    await barrier(a1, a3);
    noCarbons(a1, a2, a3);
  } finally {
    closeAll(c);
    await server.stop();
  }
});

Deno.test("carbons: sent copies of messages to offline users, other servers, components", async () => {
  const server = await startTestServer({
    // A route nobody answers: the message bounces, its copy was made before.
    s2s: { hosts: { "remote.example": "127.0.0.1:1" } },
    components: { "echo.localhost": { secret: "s3cret" } },
  }, { alice: "wonderland", bob: "builder", carol: "carol" });
  const a1 = await login(server, "alice", "a1");
  const a2 = await login(server, "alice", "a2");
  const component = await connectComponent(server, "echo.localhost", "s3cret");
  try {
    await switchCarbons(a2, true);
    a1.send(msg("carol@localhost", "offline-1"));
    await carbon(a2, "sent", "offline-1");
    a1.send(msg("someone@remote.example", "remote-1"));
    await carbon(a2, "sent", "remote-1");
    a1.send(msg("service@echo.localhost", "component-1"));
    await component.stanza((e) => e.getChildText("body") === "component-1");
    await carbon(a2, "sent", "component-1");
    // Carol gets hers from offline storage, as sent.
    const carol = await TestClientLogin(server, "carol", "carol");
    const stored = await carol.stanza((e) => e.getChildText("body") === "offline-1");
    assert.equal(carbonOf(stored, "sent"), undefined);
    carol.close();
  } finally {
    for (const x of [a1, a2, component]) x.close();
    await server.stop();
  }
});

function TestClientLogin(server: TestServer, user: string, password: string) {
  return imLogin(server, user, password, "r");
}
