/**
 * Client State Indication (XEP-0352) over real sockets: while alice's
 * client is inactive, presence updates and chat states from bob are held
 * (only the latest per sender), and go out in order before the next
 * important stanza or on <active/>; the buffer is bounded; nothing held
 * is lost across stream management's hibernation, resumption or end.
 */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { dropConnection, resume, sessionOf, smLogin, until } from "../helpers/sm.ts";
import type { Element } from "../../src/xml/element.ts";
import { heldOutput } from "../../src/modules/csi/held.ts";

const CSI = "urn:xmpp:csi:0";
const STATES = "http://jabber.org/protocol/chatstates";
const ALICE = "alice@localhost/phone";

function login(server: TestServer, user: string, resource: string) {
  const password = user === "alice" ? "wonderland" : "builder";
  return TestClient.login({ port: server.ports.c2s, user, password, resource });
}

/** Bob's stanzas so far are routed (his stream handles them in order). */
async function routed(bob: TestClient, id: string): Promise<void> {
  bob.send(`<iq type='get' id='${id}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
  await bob.stanza((e) => e.attrs.id === id);
}

function heldCount(server: TestServer, jid = ALICE): number {
  const session = sessionOf(server, jid);
  return session ? heldOutput(session)?.size ?? 0 : 0;
}

const fromBob = (e: Element) => e.attrs.from?.startsWith("bob@localhost") === true;
const presence = (show: string) => `<presence to='${ALICE}'><show>${show}</show></presence>`;
const chatState = (state: string) =>
  `<message to='${ALICE}' type='chat'><${state} xmlns='${STATES}'/></message>`;

async function inactiveAlice(server: TestServer): Promise<TestClient> {
  const alice = await login(server, "alice", "phone");
  assert.ok(alice.features?.getChild("csi", CSI), "csi offered after authentication");
  alice.send(`<inactive xmlns='${CSI}'/>`);
  // The nonza needs no answer; an iq after it shows it was taken (and flushes nothing).
  alice.send(`<iq type='get' id='p0' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
  await alice.stanza((e) => e.attrs.id === "p0");
  return alice;
}

Deno.test("csi: presence and chat states wait, de-duplicated; a message with a body flushes them in order", async () => {
  const server = await startTestServer();
  try {
    const alice = await inactiveAlice(server);
    const bob = await login(server, "bob", "desk");
    bob.send(presence("away"));
    bob.send(chatState("composing"));
    bob.send(presence("xa"));
    bob.send(chatState("paused"));
    await routed(bob, "r1");
    assert.equal(heldCount(server), 2, "one presence and one chat state held");
    assert.equal(alice.frames.filter((f) => f.kind === "stanza" && fromBob(f.element)).length, 0);

    bob.send(`<message to='${ALICE}' type='chat' id='m1'><body>hi</body></message>`);
    const first = await alice.stanza(fromBob);
    const second = await alice.stanza(fromBob);
    const third = await alice.stanza(fromBob);
    assert.equal(first.name, "presence");
    assert.equal(first.getChildText("show"), "xa");
    assert.equal(second.name, "message");
    assert.ok(second.getChild("paused", STATES));
    assert.equal(third.attrs.id, "m1");
    assert.equal(heldCount(server), 0);
    // Still inactive: the next presence waits again, and <active/> sends it.
    bob.send(presence("dnd"));
    await routed(bob, "r2");
    assert.equal(heldCount(server), 1);
    alice.send(`<active xmlns='${CSI}'/>`);
    const flushed = await alice.stanza(fromBob);
    assert.equal(flushed.getChildText("show"), "dnd");
    assert.equal(sessionOf(server, ALICE)!.filter, undefined, "an active session has no filter");
    // Active: nothing is held.
    bob.send(chatState("composing"));
    await alice.stanza((e) => fromBob(e) && e.getChild("composing", STATES) !== undefined);
    alice.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("csi: an iq to the inactive client is important and flushes what was held", async () => {
  const server = await startTestServer();
  try {
    const alice = await inactiveAlice(server);
    const bob = await login(server, "bob", "desk");
    bob.send(presence("away"));
    await routed(bob, "r1");
    assert.equal(heldCount(server), 1);
    bob.send(`<iq type='get' id='v1' to='${ALICE}'><query xmlns='jabber:iq:version'/></iq>`);
    const first = await alice.stanza(fromBob);
    const second = await alice.stanza(fromBob);
    assert.equal(first.name, "presence");
    assert.equal(second.attrs.id, "v1");
    alice.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("csi: past csi.maxHeld everything held goes out, in order", async () => {
  const server = await startTestServer({ csi: { maxHeld: 3 } });
  try {
    const alice = await inactiveAlice(server);
    const bob = await login(server, "bob", "desk");
    // Receipts are held each (no de-duplication).
    const receipt = (n: number) =>
      `<message to='${ALICE}' id='x${n}'><received xmlns='urn:xmpp:receipts' id='m${n}'/></message>`;
    for (let n = 1; n <= 3; n++) bob.send(receipt(n));
    await routed(bob, "r1");
    assert.equal(heldCount(server), 3);
    bob.send(receipt(4));
    const ids: string[] = [];
    for (let n = 1; n <= 4; n++) ids.push((await alice.stanza(fromBob)).attrs.id);
    assert.deepEqual(ids, ["x1", "x2", "x3", "x4"]);
    assert.equal(heldCount(server), 0);
    alice.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("csi + sm: held stanzas survive hibernation and resumption, then flush on <active/>", async () => {
  const server = await startTestServer();
  try {
    const { c: alice, id } = await smLogin(server, "alice", "wonderland", "phone");
    alice.send(`<inactive xmlns='${CSI}'/>`);
    const bob = await login(server, "bob", "desk");
    bob.send(presence("away"));
    await routed(bob, "r1");
    await dropConnection(server, alice);
    bob.send(chatState("composing"));
    await routed(bob, "r2");
    assert.equal(heldCount(server), 2);
    // Nothing held was counted: h from the server's side is what it sent.
    const session = sessionOf(server, ALICE)!;
    const { c: again, answer } = await resume(
      server,
      "alice",
      "wonderland",
      id,
      session.outbox.keptCount,
    );
    assert.equal(answer.name, "resumed");
    again.send(`<active xmlns='${CSI}'/>`);
    const first = await again.stanza(fromBob);
    const second = await again.stanza(fromBob);
    assert.equal(first.name, "presence");
    assert.ok(second.getChild("composing", STATES));
    again.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("csi + sm: a held message is not lost when the hibernated session ends", async () => {
  const server = await startTestServer({ sm: { resumeTimeoutSeconds: 0.3 } });
  try {
    const { c: alice } = await smLogin(server, "alice", "wonderland", "phone");
    alice.send(`<inactive xmlns='${CSI}'/>`);
    const bob = await login(server, "bob", "desk");
    await routed(bob, "r0");
    await dropConnection(server, alice);
    // A receipt waits (not important); the session then ends unresumed.
    bob.send(
      `<message to='${ALICE}' type='chat' id='rc1'><received xmlns='urn:xmpp:receipts' id='m1'/></message>`,
    );
    bob.send(presence("away"));
    await routed(bob, "r1");
    assert.equal(heldCount(server), 2);
    await until(() => sessionOf(server, ALICE) === undefined, "the session to end");
    // Messages go to offline storage like unacknowledged ones; presence does not.
    const back = await login(server, "alice", "laptop");
    const offline = await back.stanza((e) => e.name === "message" && fromBob(e));
    assert.equal(offline.attrs.id, "rc1");
    back.close();
    bob.close();
  } finally {
    await server.stop();
  }
});
