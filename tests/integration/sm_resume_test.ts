/**
 * Stream management resumption (XEP-0198 §5) over real sockets: a
 * dropped connection, a half-open one, an expired hibernation, and the
 * refusals.
 */
import assert from "node:assert/strict";
import { errorCondition, TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { imLogin } from "../helpers/im.ts";
import {
  bodiesThrough,
  chat,
  dropConnection,
  failedCondition,
  Handled,
  resume,
  sessionOf,
  SM,
  smLogin,
  takeBodies,
  until,
} from "../helpers/sm.ts";
import type { Element } from "../../src/xml/element.ts";
import type { Json } from "../../src/storage/types.ts";

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

Deno.test("sm: 20 messages to a dropped connection arrive once each, in order, after resuming", async () => {
  const server = await startTestServer();
  try {
    const { c: alice, id, handled } = await smLogin(server, "alice", "wonderland", "phone");
    assert.ok(id.length >= 20, "an unguessable id");
    const bob = await imLogin(server, "bob", "builder", "b");
    for (let n = 1; n <= 10; n++) bob.send(chat("alice@localhost/phone", n));
    // The client has read some; the rest may still be on the way when the link dies.
    await until(() => handled.count >= 3, "the first messages");
    const session = await dropConnection(server, alice);
    const h = handled.count;
    const before = takeBodies(alice);
    assert.equal(before.length, h);
    // Sent while the client has no connection: kept for it.
    for (let n = 11; n <= 20; n++) bob.send(chat("alice@localhost/phone", n));
    await until(() => session.outbox.unackedCount === 20, "20 kept");

    const { c: alice2, answer } = await resume(server, "alice", "wonderland", id, h);
    assert.equal(answer.name, "resumed", answer.toString());
    assert.equal(answer.attrs.previd, id);
    assert.equal(answer.attrs.h, "0"); // alice sent nothing since enabling
    const after = await bodiesThrough(alice2, "20");
    assert.deepEqual([...before, ...after], range(1, 20));
    await alice2.nothing((e) => e.name === "message", 300);

    // The same session, bound as before, now on the new connection.
    assert.equal(sessionOf(server, "alice@localhost/phone"), session);
    assert.equal(session.hibernating, false);
    assert.equal(session.destroyed, false);
    bob.send(chat("alice@localhost/phone", 21));
    assert.deepEqual(await bodiesThrough(alice2, "21"), ["21"]);
    // Acks go on from where they were: the resent 20-h and #21 are unacked.
    alice2.send(`<a xmlns='${SM}' h='${h + (20 - h) + 1}'/>`);
    await until(() => session.outbox.unackedCount === 0, "all acked");
    alice2.send(chat("bob@localhost/b", 1));
    alice2.send(`<r xmlns='${SM}'/>`);
    const a = await alice2.stanza((e) => e.name === "a" && e.attrs.xmlns === SM);
    assert.equal(a.attrs.h, "1");
    alice2.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("sm: not resumed in time, the unacked messages come from offline storage at the next login", async () => {
  const server = await startTestServer({ sm: { resumeTimeoutSeconds: 0.3 } });
  try {
    const { c: alice, id } = await smLogin(server, "alice", "wonderland", "phone");
    const bob = await imLogin(server, "bob", "builder", "b");
    await dropConnection(server, alice);
    for (let n = 1; n <= 5; n++) bob.send(chat("alice@localhost/phone", n));
    // An iq the client never answered is answered for it when the session ends.
    bob.send(
      "<iq type='get' id='v1' to='alice@localhost/phone'><query xmlns='jabber:iq:version'/></iq>",
    );
    await until(() => sessionOf(server, "alice@localhost/phone") === undefined, "expiry");
    const bounced = await bob.stanza((e) => e.name === "iq" && e.attrs.id === "v1");
    assert.equal(bounced.attrs.type, "error");
    assert.equal(bounced.attrs.from, "alice@localhost/phone");
    assert.equal(errorCondition(bounced), "service-unavailable");
    // Too late to resume.
    const late = await resume(server, "alice", "wonderland", id, 0);
    assert.equal(failedCondition(late.answer), "item-not-found");
    late.c.close();

    const again = await imLogin(server, "alice", "wonderland", "phone");
    const bodies = await bodiesThrough(again, "5");
    assert.deepEqual(bodies, range(1, 5));
    await again.nothing((e) => e.name === "message", 300);
    again.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("sm: too many unacked while hibernating ends the session; nothing is lost", async () => {
  const server = await startTestServer({ sm: { maxUnackedStanzas: 3 } });
  try {
    const { c: alice } = await smLogin(server, "alice", "wonderland", "phone");
    const bob = await imLogin(server, "bob", "builder", "b");
    await dropConnection(server, alice);
    for (let n = 1; n <= 6; n++) bob.send(chat("alice@localhost/phone", n));
    await until(() => sessionOf(server, "alice@localhost/phone") === undefined, "the end");
    const again = await imLogin(server, "alice", "wonderland", "phone");
    assert.deepEqual(await bodiesThrough(again, "6"), range(1, 6));
    again.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("sm: a resume replaces a half-open old connection, which ends with conflict", async () => {
  const server = await startTestServer();
  try {
    const { c: old, id } = await smLogin(server, "alice", "wonderland", "phone");
    const session = sessionOf(server, "alice@localhost/phone")!;
    const bob = await imLogin(server, "bob", "builder", "b");
    for (let n = 1; n <= 5; n++) bob.send(chat("alice@localhost/phone", n));
    // The old link delivered all five, but the client only got to handle three.
    const seen = await bodiesThrough(old, "5");
    assert.deepEqual(seen, range(1, 5));
    assert.ok(session.driver, "still attached: the server does not know the link is dead");

    const { c: alice2, answer } = await resume(server, "alice", "wonderland", id, 3);
    assert.equal(answer.name, "resumed");
    assert.deepEqual(await bodiesThrough(alice2, "5"), ["4", "5"]);
    assert.equal(await old.streamError(), "conflict");
    await old.waitClosed();
    assert.equal(sessionOf(server, "alice@localhost/phone"), session);
    assert.equal(session.destroyed, false);
    // The old connection's close did not end the session.
    bob.send(chat("alice@localhost/phone", 6));
    assert.deepEqual(await bodiesThrough(alice2, "6"), ["6"]);
    alice2.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("sm: resume with h above what was sent ends that stream; the session can still resume", async () => {
  const server = await startTestServer();
  try {
    const { c: alice, id } = await smLogin(server, "alice", "wonderland", "phone");
    const bob = await imLogin(server, "bob", "builder", "b");
    const session = await dropConnection(server, alice);
    bob.send(chat("alice@localhost/phone", 1));
    bob.send(chat("alice@localhost/phone", 2));
    await until(() => session.outbox.unackedCount === 2, "2 kept");

    const bad = await resume(server, "alice", "wonderland", id, 3);
    assert.equal(bad.answer.name, "stream:error");
    assert.ok(bad.answer.getChild("undefined-condition", "urn:ietf:params:xml:ns:xmpp-streams"));
    const detail = bad.answer.getChild("handled-count-too-high", SM)!;
    assert.deepEqual([detail.attrs.h, detail.attrs["send-count"]], ["3", "2"]);
    await bad.c.waitClosed();

    assert.equal(session.hibernating, true);
    const good = await resume(server, "alice", "wonderland", id, 1);
    assert.equal(good.answer.name, "resumed");
    assert.deepEqual(await bodiesThrough(good.c, "2"), ["2"]);
    good.c.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("sm: another account's id, or a made-up one, is item-not-found; the stream goes on", async () => {
  const server = await startTestServer();
  try {
    const { c: alice, id } = await smLogin(server, "alice", "wonderland", "phone");
    const session = await dropConnection(server, alice);
    const bob = await resume(server, "bob", "builder", id, 0);
    assert.equal(failedCondition(bob.answer), "item-not-found");
    assert.equal(bob.answer.attrs.h, undefined);
    // <failed/> is recoverable: bob binds his own session instead.
    const bound = await bob.c.bind("b");
    assert.equal(bound.attrs.type, "result");
    const madeUp = (id[0] === "x" ? "y" : "x") + id.slice(1);
    const unknown = await resume(server, "alice", "wonderland", madeUp, 0);
    assert.equal(failedCondition(unknown.answer), "item-not-found", unknown.answer.toString());
    assert.equal(session.hibernating, true);
    assert.equal(session.destroyed, false);
    bob.c.close();
    unknown.c.close();
  } finally {
    await server.stop();
  }
});

async function seedRoster(server: TestServer, user: string, contacts: string[]): Promise<void> {
  await server.storage.keyval("localhost", "roster").set(user, {
    version: 1,
    items: contacts.map((jid) => ({ jid, subscription: "both", groups: [] })) as Json[],
    pending: {},
  });
}

const presenceFrom = (from: string, type?: string) => (e: Element) =>
  e.name === "presence" && e.attrs.from === from && e.attrs.type === type;

Deno.test("sm: a resumed session keeps its resource, presence, roster interest and directed presence", async () => {
  const server = await startTestServer({}, {
    alice: "wonderland",
    bob: "builder",
    carol: "c",
  });
  try {
    await seedRoster(server, "alice", ["bob@localhost"]);
    await seedRoster(server, "bob", ["alice@localhost"]);
    const bob = await imLogin(server, "bob", "builder", "b");
    const carol = await imLogin(server, "carol", "c", "c");
    const { c: alice, id } = await smLogin(server, "alice", "wonderland", "phone");
    await bob.stanza(presenceFrom("alice@localhost/phone"));
    // Directed presence to someone not on the roster (RFC 6121 §4.6).
    alice.send("<presence to='carol@localhost/c'/>");
    await carol.stanza(presenceFrom("alice@localhost/phone"));
    const session = await dropConnection(server, alice);

    const { c: alice2, answer } = await resume(server, "alice", "wonderland", id, 0);
    assert.equal(answer.name, "resumed");
    assert.equal(answer.attrs.h, "1"); // the directed presence
    const resumedSession = sessionOf(server, "alice@localhost/phone");
    assert.equal(resumedSession, session);
    assert.equal(session.resource, "phone");
    assert.ok(session.presence, "still available");
    assert.equal(session.interested, true);
    // Nobody saw alice go: no unavailable presence went out.
    await bob.nothing(presenceFrom("alice@localhost/phone", "unavailable"), 100);

    // Presence: a contact's change reaches the resumed session.
    bob.send("<presence><show>away</show></presence>");
    const away = await alice2.stanza(presenceFrom("bob@localhost/b"));
    assert.equal(away.getChildText("show"), "away");
    // Roster interest: a push caused by another resource reaches it.
    const desk = await TestClient.login({
      port: server.ports.c2s,
      user: "alice",
      password: "wonderland",
      resource: "desk",
      presence: false,
    });
    desk.send(
      "<iq type='set' id='add1'><query xmlns='jabber:iq:roster'><item jid='dave@localhost'/></query></iq>",
    );
    const push = await alice2.stanza((e) => e.name === "iq" && e.attrs.type === "set");
    assert.equal(
      push.getChild("query", "jabber:iq:roster")?.getChild("item")?.attrs.jid,
      "dave@localhost",
    );
    // Directed presence: remembered, so carol hears alice leave.
    alice2.close();
    await carol.stanza(presenceFrom("alice@localhost/phone", "unavailable"));
    await bob.stanza(presenceFrom("alice@localhost/phone", "unavailable"));
    desk.close();
    bob.close();
    carol.close();
  } finally {
    await server.stop();
  }
});

Deno.test("sm: the new connection's own count starts after enabling", async () => {
  // Handled counts only after <enabled/>: the client's side of the contract.
  const server = await startTestServer();
  try {
    const c = await imLogin(server, "alice", "wonderland", "x");
    const handled = new Handled(c);
    c.send(`<enable xmlns='${SM}'/>`);
    const enabled = await c.stanza((e) => e.name === "enabled");
    assert.equal(enabled.attrs.id, undefined);
    assert.equal(enabled.attrs.resume, undefined);
    assert.equal(handled.count, 0);
    c.close();
  } finally {
    await server.stop();
  }
});
