/**
 * Push notifications (XEP-0357) over real sockets, with an external
 * component as the app server: a notification while alice's only session
 * hibernates (stream management) and while she is offline, none while a
 * client of hers is active; the body only when the registration asked;
 * an error from the app server disables the registration; disable works.
 */
import assert from "node:assert/strict";
import { errorCondition, hostFeatures, iq, TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { connectComponent } from "../helpers/component.ts";
import { dropConnection, SM, smLogin, until } from "../helpers/sm.ts";
import type { Element } from "../../src/xml/element.ts";
import { parseForm } from "../../src/util/dataforms.ts";

const PUSH = "urn:xmpp:push:0";
const PUBSUB = "http://jabber.org/protocol/pubsub";
const APP = "push.localhost";
const SECRET = "component-secret";

function start(overrides: Record<string, unknown> = {}): Promise<TestServer> {
  return startTestServer({
    components: { [APP]: { secret: SECRET } },
    push: { minIntervalSeconds: 0 },
    ...overrides,
  });
}

function login(server: TestServer, user: string, resource: string) {
  const password = user === "alice" ? "wonderland" : "builder";
  return TestClient.login({ port: server.ports.c2s, user, password, resource });
}

const optionsForm = (fields: string) =>
  `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'>` +
  `<value>http://jabber.org/protocol/pubsub#publish-options</value></field>${fields}</x>`;

async function enable(c: TestClient, node: string, fields = ""): Promise<Element> {
  const id = "en-" + node;
  return await iq(
    c,
    id,
    `<iq type='set' id='${id}'><enable xmlns='${PUSH}' jid='${APP}' node='${node}'>` +
      (fields === "" ? "" : optionsForm(fields)) + `</enable></iq>`,
  );
}

/** The next notification the app server gets; it answers with `reply` (result by default). */
async function notification(
  app: TestClient,
  reply?: (e: Element) => string | undefined,
): Promise<
  { iq: Element; node: string; summary: Map<string, string[]>; options?: Map<string, string[]> }
> {
  const stanza = await app.stanza((e) =>
    e.name === "iq" && e.getChild("pubsub", PUBSUB) !== undefined
  );
  app.send(
    reply?.(stanza) ??
      `<iq type='result' id='${stanza.attrs.id}' from='${APP}' to='${stanza.attrs.from}'/>`,
  );
  const pubsub = stanza.getChild("pubsub", PUBSUB)!;
  const publish = pubsub.getChild("publish")!;
  const x = publish.getChild("item")!.getChild("notification", PUSH)!;
  const options = pubsub.getChild("publish-options");
  return {
    iq: stanza,
    node: publish.attrs.node,
    summary: parseForm(x)!,
    options: options ? parseForm(options) : undefined,
  };
}

const chat = (body: string, id = body) =>
  `<message to='alice@localhost' type='chat' id='${id}'><body>${body}</body></message>`;

/** Bob's stanzas so far are routed. */
async function routed(bob: TestClient, id: string): Promise<void> {
  bob.send(`<iq type='get' id='${id}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
  await bob.stanza((e) => e.attrs.id === id);
}

Deno.test("push: notified while the only session hibernates, not while it is active", async () => {
  const server = await start();
  try {
    const app = await connectComponent(server, APP, SECRET);
    const { c: alice, handled } = await smLogin(server, "alice", "wonderland", "phone");
    assert.ok((await hostFeatures(alice, "alice@localhost")).includes(PUSH));
    assert.equal(
      (await enable(
        alice,
        "n1",
        `<field var='secret'><value>s3</value></field>` +
          `<field var='parley#include-body'><value>1</value></field>`,
      )).attrs.type,
      "result",
    );
    const bob = await login(server, "bob", "desk");
    // Active: delivered, no notification.
    bob.send(chat("while-active"));
    await alice.stanza((e) => e.getChildText("body") === "while-active");
    await routed(bob, "r1");
    // Everything acknowledged: the hibernation itself has nothing to notify.
    alice.send(`<a xmlns='${SM}' h='${handled.count}'/>`);
    await iq(
      alice,
      "ping1",
      `<iq type='get' id='ping1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`,
    );
    alice.send(`<a xmlns='${SM}' h='${handled.count}'/>`);
    await dropConnection(server, alice);
    bob.send(chat("while-asleep"));
    const n = await notification(app);
    assert.equal(n.iq.attrs.from, "alice@localhost");
    assert.equal(n.iq.attrs.to, APP);
    assert.equal(n.node, "n1");
    assert.deepEqual(n.summary.get("FORM_TYPE"), ["urn:xmpp:push:summary"]);
    // The first notification is this message's: none came for the one while active.
    assert.deepEqual(n.summary.get("last-message-body"), ["while-asleep"]);
    assert.deepEqual(n.summary.get("message-count"), ["1"], "the active message was not counted");
    assert.deepEqual(n.summary.get("last-message-sender"), ["bob@localhost/desk"]);
    assert.deepEqual([...n.options!.keys()].sort(), ["FORM_TYPE", "secret"]);
    assert.deepEqual(n.options?.get("secret"), ["s3"]);
    bob.close();
    app.close();
  } finally {
    await server.stop();
  }
});

Deno.test("push: a session hibernating with unacknowledged messages notifies", async () => {
  const server = await start();
  try {
    const app = await connectComponent(server, APP, SECRET);
    const { c: alice } = await smLogin(server, "alice", "wonderland", "phone");
    await enable(alice, "n1");
    const bob = await login(server, "bob", "desk");
    bob.send(chat("unacked"));
    await alice.stanza((e) => e.getChildText("body") === "unacked");
    await dropConnection(server, alice);
    const n = await notification(app);
    assert.deepEqual(n.summary.get("message-count"), ["1"]);
    assert.equal(n.options, undefined, "no publish-options were given");
    bob.close();
    app.close();
  } finally {
    await server.stop();
  }
});

Deno.test("push: notified when offline; the body only for the registration that asked", async () => {
  const server = await start();
  try {
    const app = await connectComponent(server, APP, SECRET);
    const alice = await login(server, "alice", "phone");
    await enable(alice, "plain");
    await enable(
      alice,
      "with-body",
      `<field var='parley#include-body'><value>true</value></field>`,
    );
    alice.close();
    await until(() => server.sessions.resources("localhost", "alice").length === 0, "logout");
    const bob = await login(server, "bob", "desk");
    bob.send(chat("wherefore"));
    const got = new Map<string, Map<string, string[]>>();
    for (let i = 0; i < 2; i++) {
      const n = await notification(app);
      got.set(n.node, n.summary);
      assert.equal(n.options, undefined, "our own field is not forwarded");
    }
    assert.equal(got.get("plain")?.get("last-message-body"), undefined);
    assert.deepEqual(got.get("with-body")?.get("last-message-body"), ["wherefore"]);
    bob.close();
    app.close();
  } finally {
    await server.stop();
  }
});

Deno.test("push: an error from the app server disables the registration; disable removes one", async () => {
  const server = await start();
  try {
    const app = await connectComponent(server, APP, SECRET);
    const alice = await login(server, "alice", "phone");
    await enable(alice, "gone");
    await enable(alice, "kept");
    await enable(alice, "dropped");
    const disabled = await iq(
      alice,
      "dis",
      `<iq type='set' id='dis'><disable xmlns='${PUSH}' jid='${APP}' node='dropped'/></iq>`,
    );
    assert.equal(disabled.attrs.type, "result");
    alice.close();
    await until(() => server.sessions.resources("localhost", "alice").length === 0, "logout");
    const store = server.storage.map("localhost", "push");
    assert.equal((await store.getAll("alice")).size, 2);
    const bob = await login(server, "bob", "desk");
    bob.send(chat("one"));
    const nodes = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const n = await notification(
        app,
        (e) =>
          e.getChild("pubsub", PUBSUB)!.getChild("publish")!.attrs.node === "gone"
            ? `<iq type='error' id='${e.attrs.id}' from='${APP}' to='${e.attrs.from}'>` +
              `<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`
            : undefined,
      );
      nodes.add(n.node);
    }
    assert.deepEqual([...nodes].sort(), ["gone", "kept"]);
    let left: string[] = [];
    for (let i = 0; i < 100; i++) {
      left = [...(await store.getAll("alice")).keys()];
      if (left.length === 1) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(left, [`${APP} kept`]);
    bob.send(chat("two"));
    const n = await notification(app);
    assert.equal(n.node, "kept");
    bob.close();
    app.close();
  } finally {
    await server.stop();
  }
});

Deno.test("push: enable is checked (node, form type, limit)", async () => {
  const server = await start({ push: { minIntervalSeconds: 0, maxRegistrations: 1 } });
  try {
    const alice = await login(server, "alice", "phone");
    const noNode = await iq(
      alice,
      "e1",
      `<iq type='set' id='e1'><enable xmlns='${PUSH}' jid='${APP}'/></iq>`,
    );
    assert.equal(errorCondition(noNode), "bad-request");
    const badForm = await iq(
      alice,
      "e2",
      `<iq type='set' id='e2'><enable xmlns='${PUSH}' jid='${APP}' node='a'>` +
        `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>other</value></field></x></enable></iq>`,
    );
    assert.equal(errorCondition(badForm), "bad-request");
    assert.equal((await enable(alice, "a")).attrs.type, "result");
    assert.equal((await enable(alice, "a")).attrs.type, "result", "re-enabling replaces");
    assert.equal(errorCondition(await enable(alice, "b")), "not-acceptable");
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("push: messages within push.minIntervalSeconds are summed up in one later notification", async () => {
  const server = await start({ push: { minIntervalSeconds: 0.3 } });
  try {
    const app = await connectComponent(server, APP, SECRET);
    const alice = await login(server, "alice", "phone");
    await enable(alice, "n", `<field var='parley#include-body'><value>1</value></field>`);
    alice.close();
    await until(() => server.sessions.resources("localhost", "alice").length === 0, "logout");
    const bob = await login(server, "bob", "desk");
    bob.send(chat("m1"));
    const first = await notification(app);
    assert.deepEqual(first.summary.get("last-message-body"), ["m1"]);
    bob.send(chat("m2"));
    bob.send(chat("m3"));
    const second = await notification(app);
    assert.deepEqual(second.summary.get("message-count"), ["3"]);
    assert.deepEqual(second.summary.get("last-message-body"), ["m3"]);
    bob.close();
    app.close();
  } finally {
    await server.stop();
  }
});

/**
 * A message notified while the user was hibernated goes offline when the
 * hibernation ends: no second notification. Also for a <private/> one, which
 * the carbons module delivers as a cleaned copy (<private/> removed): the
 * copy that goes offline is still the message notified.
 */
for (
  const [what, stanza] of [
    ["a message", chat("once")],
    [
      "a <private/> message",
      `<message to='alice@localhost' type='chat' id='p1'><body>private once</body>` +
      `<private xmlns='urn:xmpp:carbons:2'/></message>`,
    ],
  ]
) {
  Deno.test(`push: ${what} notified during hibernation is not notified again when it goes offline`, async () => {
    const server = await start({ sm: { resumeTimeoutSeconds: 0.3 } });
    try {
      const app = await connectComponent(server, APP, SECRET);
      const { c: alice, handled } = await smLogin(server, "alice", "wonderland", "phone");
      await enable(alice, "n");
      alice.send(`<a xmlns='${SM}' h='${handled.count}'/>`);
      await dropConnection(server, alice);
      const bob = await login(server, "bob", "desk");
      bob.send(stanza);
      await notification(app);
      await until(
        () => server.sessions.resources("localhost", "alice").length === 0,
        "the hibernation to end",
      );
      await routed(bob, "r1");
      await app.nothing((e) => e.getChild("pubsub", PUBSUB) !== undefined, 300);
      bob.close();
      app.close();
    } finally {
      await server.stop();
    }
  });
}
