/**
 * Carbons with stream management (XEP-0198): copies are ordinary
 * stanzas of the session, kept while it hibernates and resent when it
 * resumes; copies a session never acknowledged do not go to offline
 * storage with its other unacknowledged messages.
 */
import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";
import { imLogin } from "../helpers/im.ts";
import { dropConnection, resume, sessionOf, smLogin, until } from "../helpers/sm.ts";
import { barrier, carbon, carbonOf, switchCarbons, takeCarbons } from "../helpers/carbons.ts";

Deno.test("carbons+sm: copies made while hibernating arrive after resuming", async () => {
  const server = await startTestServer();
  const { c: phone, id, handled } = await smLogin(server, "alice", "wonderland", "phone");
  const laptop = await imLogin(server, "alice", "wonderland", "laptop");
  const bob = await imLogin(server, "bob", "builder", "b");
  let resumed;
  try {
    assert.equal((await switchCarbons(phone, true)).attrs.type, "result");
    // Connected: a copy as usual.
    bob.send(`<message to='alice@localhost/laptop' type='chat'><body>before</body></message>`);
    await carbon(phone, "received", "before");

    const session = await dropConnection(server, phone);
    const h = handled.count;
    const kept = session.outbox.unackedCount;
    bob.send(`<message to='alice@localhost/laptop' type='chat'><body>away-in</body></message>`);
    laptop.send(`<message to='bob@localhost' type='chat'><body>away-out</body></message>`);
    await bob.stanza((e) => e.getChildText("body") === "away-out");
    await until(() => session.outbox.unackedCount === kept + 2, "two copies kept");

    resumed = await resume(server, "alice", "wonderland", id, h);
    assert.equal(resumed.answer.name, "resumed", resumed.answer.toString());
    const c = resumed.c;
    const received = await carbon(c, "received", "away-in");
    assert.equal(received.wrapper.attrs.to, "alice@localhost/phone");
    assert.equal(received.inner.attrs.from, "bob@localhost/b");
    await carbon(c, "sent", "away-out");
    // Still enabled on the resumed session.
    bob.send(`<message to='alice@localhost/laptop' type='chat'><body>after</body></message>`);
    await carbon(c, "received", "after");
  } finally {
    for (const x of [phone, laptop, bob, resumed?.c]) x?.close();
    await server.stop();
  }
});

Deno.test("carbons+sm: unacknowledged copies are not stored offline when the session ends", async () => {
  const server = await startTestServer();
  const { c: phone } = await smLogin(server, "alice", "wonderland", "phone");
  const laptop = await imLogin(server, "alice", "wonderland", "laptop");
  const bob = await imLogin(server, "bob", "builder", "b");
  let later;
  try {
    await switchCarbons(phone, true);
    bob.send(`<message to='alice@localhost/laptop' type='chat'><body>copied</body></message>`);
    bob.send(`<message to='alice@localhost/phone' type='chat'><body>direct</body></message>`);
    await carbon(phone, "received", "copied");
    await phone.stanza((e) => e.getChildText("body") === "direct");
    // Never acknowledged: the session ends with both unacked.
    const jid = phone.jid!;
    phone.close();
    await until(() => sessionOf(server, jid) === undefined, "the session's end");

    // The message goes to offline storage; the copy (laptop had the original) does not.
    later = await imLogin(server, "alice", "wonderland", "later");
    await later.stanza((e) => e.getChildText("body") === "direct");
    await barrier(bob, later);
    assert.deepEqual(takeCarbons(later).map(String), []);
    assert.ok(!later.frames.some((f) => f.kind === "stanza" && carbonOf(f.element, "received")));
  } finally {
    for (const x of [phone, laptop, bob, later]) x?.close();
    await server.stop();
  }
});
