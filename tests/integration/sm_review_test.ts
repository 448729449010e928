/**
 * Stream management under an adversarial reading of XEP-0198: a client
 * that resumes and drops again, an `h` lower than before or malformed,
 * presence while hibernating and at expiry, a replaced session's id.
 */
import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";
import { imLogin } from "../helpers/im.ts";
import { TestClient } from "../helpers/client.ts";
import {
  bodiesThrough,
  chat,
  dropConnection,
  failedCondition,
  resume,
  sessionOf,
  SM,
  smLogin,
  until,
} from "../helpers/sm.ts";

const STREAMS = "urn:ietf:params:xml:ns:xmpp-streams";

Deno.test("sm review: resume, drop at once, resume again: nothing lost, nothing twice", async () => {
  const server = await startTestServer();
  try {
    const { c: alice, id } = await smLogin(server, "alice", "wonderland", "phone");
    const bob = await imLogin(server, "bob", "builder", "b");
    const session = await dropConnection(server, alice);
    for (let n = 1; n <= 3; n++) bob.send(chat("alice@localhost/phone", n));
    await until(() => session.outbox.unackedCount === 3, "3 kept");
    const first = await resume(server, "alice", "wonderland", id, 0);
    assert.equal(first.answer.name, "resumed");
    // Gone again before reading or acking anything.
    first.c.socket.destroy();
    await until(() => session.hibernating, "hibernating again");
    bob.send(chat("alice@localhost/phone", 4));
    await until(() => session.outbox.unackedCount === 4, "4 kept");
    const second = await resume(server, "alice", "wonderland", id, 0);
    assert.equal(second.answer.name, "resumed", second.answer.toString());
    assert.deepEqual(await bodiesThrough(second.c, "4"), ["1", "2", "3", "4"]);
    await second.c.nothing((e) => e.name === "message", 200);
    second.c.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("sm review: an h lower than the last one ends the stream; the unacked go offline", async () => {
  const server = await startTestServer();
  try {
    const { c: alice, handled } = await smLogin(server, "alice", "wonderland", "phone");
    const bob = await imLogin(server, "bob", "builder", "b");
    for (let n = 1; n <= 3; n++) bob.send(chat("alice@localhost/phone", n));
    await until(() => handled.count === 3, "3 messages");
    const session = sessionOf(server, "alice@localhost/phone")!;
    alice.send(`<a xmlns='${SM}' h='2'/>`);
    await until(() => session.outbox.unackedCount === 1, "2 acked");
    alice.send(`<a xmlns='${SM}' h='1'/>`);
    const error = await alice.stanza((e) => e.name === "stream:error");
    assert.ok(error.getChild("undefined-condition", STREAMS), error.toString());
    await alice.waitClosed();
    await until(() => sessionOf(server, "alice@localhost/phone") === undefined, "the end");
    const again = await imLogin(server, "alice", "wonderland", "phone");
    assert.deepEqual(await bodiesThrough(again, "3"), ["3"]);
    again.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

for (const h of ["abc", "-1", "4294967296", "", "1e3"]) {
  Deno.test(`sm review: <a h='${h}'/> is a stream error`, async () => {
    const server = await startTestServer();
    try {
      const { c: alice } = await smLogin(server, "alice", "wonderland", "phone");
      alice.send(`<a xmlns='${SM}' h='${h}'/>`);
      const error = await alice.stanza((e) => e.name === "stream:error");
      assert.ok(error.getChildren().length > 0);
      await alice.waitClosed();
    } finally {
      await server.stop();
    }
  });
}

Deno.test("sm review: a 10 KB previd is item-not-found and the stream goes on", async () => {
  const server = await startTestServer();
  try {
    const { answer, c } = await resume(server, "alice", "wonderland", "x".repeat(10_000), 0);
    assert.equal(failedCondition(answer), "item-not-found");
    assert.equal((await c.bind("r")).attrs.type, "result");
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("sm review: no unavailable presence while hibernating; one at expiry, directed too", async () => {
  const server = await startTestServer({ sm: { resumeTimeoutSeconds: 0.5 } });
  try {
    const bob = await imLogin(server, "bob", "builder", "b");
    const { c: alice } = await smLogin(server, "alice", "wonderland", "phone");
    alice.send(`<presence to='bob@localhost/b'/>`);
    await bob.stanza((e) => e.name === "presence" && e.attrs.from === "alice@localhost/phone");
    await dropConnection(server, alice);
    await bob.nothing((e) => e.name === "presence", 200);
    await until(() => sessionOf(server, "alice@localhost/phone") === undefined, "expiry");
    const gone = await bob.stanza((e) =>
      e.name === "presence" && e.attrs.from === "alice@localhost/phone"
    );
    assert.equal(gone.attrs.type, "unavailable");
    await bob.nothing((e) => e.name === "presence", 200);
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("sm review: a hibernating session replaced by a new bind: its id is dead, its messages come once", async () => {
  const server = await startTestServer();
  try {
    const { c: alice, id } = await smLogin(server, "alice", "wonderland", "phone");
    const bob = await imLogin(server, "bob", "builder", "b");
    const session = await dropConnection(server, alice);
    for (let n = 1; n <= 3; n++) bob.send(chat("alice@localhost/phone", n));
    await until(() => session.outbox.unackedCount === 3, "3 kept");
    const again = await imLogin(server, "alice", "wonderland", "phone");
    assert.ok(session.destroyed);
    assert.deepEqual(await bodiesThrough(again, "3"), ["1", "2", "3"]);
    await again.nothing((e) => e.name === "message", 200);
    const late = await resume(server, "alice", "wonderland", id, 0);
    assert.equal(failedCondition(late.answer), "item-not-found");
    late.c.close();
    again.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("sm review: a resumable session whose pings go unanswered hibernates; it resumes", async () => {
  const server = await startTestServer({ ping: { idleSeconds: 1, timeoutSeconds: 1 } });
  try {
    const { c: alice, id, handled } = await smLogin(server, "alice", "wonderland", "phone");
    const session = sessionOf(server, "alice@localhost/phone")!;
    // The link is dead: the ping arrives (or not) but nothing comes back.
    const ping = await alice.stanza((e) =>
      e.name === "iq" && e.getChild("ping", "urn:xmpp:ping") !== undefined
    );
    await until(() => session.hibernating || session.destroyed, "the ping's timeout");
    assert.equal(session.destroyed, false, "hibernating, not ended");
    alice.socket.destroy();
    const again = await resume(server, "alice", "wonderland", id, handled.count - 1);
    assert.equal(again.answer.name, "resumed", again.answer.toString());
    // The unacked ping comes again; answered, the session is alive.
    const resent = await again.c.stanza((e) => e.name === "iq" && e.attrs.id === ping.attrs.id);
    again.c.send(`<iq type='result' id='${resent.attrs.id}' to='localhost'/>`);
    await again.c.nothing((e) => e.name === "stream:error", 300);
    assert.equal(sessionOf(server, "alice@localhost/phone"), session);
    again.c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("sm review: a session resumed after its ping's timeout passed is not ended for it", async () => {
  const server = await startTestServer({ ping: { idleSeconds: 1, timeoutSeconds: 1 } });
  try {
    const { c: alice, id, handled } = await smLogin(server, "alice", "wonderland", "phone");
    const session = sessionOf(server, "alice@localhost/phone")!;
    await alice.stanza((e) => e.name === "iq" && e.getChild("ping", "urn:xmpp:ping") !== undefined);
    // The connection drops right after the ping went out…
    alice.socket.destroy();
    await until(() => session.hibernating, "hibernation");
    // …and comes back after the ping's timeout.
    await new Promise((r) => setTimeout(r, 1200));
    const again = await resume(server, "alice", "wonderland", id, handled.count);
    assert.equal(again.answer.name, "resumed", again.answer.toString());
    // The client says nothing for a moment: the old ping is not held against it.
    await again.c.nothing((e) => e.name === "stream:error", 700);
    assert.equal(session.hibernating, false);
    assert.equal(session.destroyed, false);
    again.c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("sm review: with resourceConflict reject, a new bind still replaces a hibernating session", async () => {
  const server = await startTestServer({ c2s: { resourceConflict: "reject" } });
  try {
    const { c: alice } = await smLogin(server, "alice", "wonderland", "phone");
    const bob = await imLogin(server, "bob", "builder", "b");
    const session = await dropConnection(server, alice);
    bob.send(chat("alice@localhost/phone", 1));
    await until(() => session.outbox.unackedCount === 1, "1 kept");
    const again = await imLogin(server, "alice", "wonderland", "phone");
    assert.ok(session.destroyed);
    assert.deepEqual(await bodiesThrough(again, "1"), ["1"]);
    again.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("sm review: a resumed session speaks the new stream's xml:lang", async () => {
  const server = await startTestServer();
  try {
    const { c: alice, id } = await smLogin(server, "alice", "wonderland", "phone");
    const bob = await imLogin(server, "bob", "builder", "b");
    await dropConnection(server, alice);
    const c = await TestClient.connect({ port: server.ports.c2s });
    await c.open();
    await c.starttls();
    await c.open();
    assert.equal((await c.auth("PLAIN", "alice", "wonderland")).name, "success");
    await c.open(
      "localhost",
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' " +
        "to='localhost' version='1.0' xml:lang='de'>",
    );
    c.send(`<resume xmlns='${SM}' previd='${id}' h='0'/>`);
    assert.equal((await c.stanza((e) => e.attrs.xmlns === SM)).name, "resumed");
    c.send("<message to='bob@localhost/b' type='chat'><body>hallo</body></message>");
    const got = await bob.stanza((e) => e.getChildText("body") === "hallo");
    assert.equal(got.attrs["xml:lang"], "de");
    c.close();
    bob.close();
  } finally {
    await server.stop();
  }
});
