import assert from "node:assert/strict";
import { stored, untilStored } from "../helpers/im.ts";
import { errorCondition as condition, hostFeatures, TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { NS } from "../../src/xml/namespaces.ts";
import type { Element } from "../../src/xml/element.ts";
import { failingArchive } from "../helpers/failing_storage.ts";

function login(server: TestServer, user: string, resource: string, presence?: string | false) {
  const password = user === "alice" ? "wonderland" : "builder";
  return TestClient.login({ port: server.ports.c2s, user, password, resource, presence });
}

const isMsg = (e: Element) => e.name === "message";
Deno.test("offline: stored while away, delivered in order with a delay stamp, once", async () => {
  const server = await startTestServer();
  try {
    const a = await login(server, "alice", "a");
    a.send("<message to='bob@localhost' type='chat' id='m1'><body>one</body></message>");
    a.send("<message to='bob@localhost' id='m2'><body>two</body></message>");
    // A chat message to a resource that is not there counts as sent to the bare JID.
    a.send(
      "<message to='bob@localhost/gone' type='chat' id='m3'><subject>s</subject>" +
        "<body>three</body><x xmlns='urn:example'>kept</x></message>",
    );
    // A type the server does not know is "normal" (RFC 6121 §5.2.2): stored too.
    a.send("<message to='bob@localhost' type='x-new' id='m4'><body>four</body></message>");
    await untilStored(server, "bob", 4);
    await a.nothing((e) => e.attrs.type === "error", 50);

    const before = Date.now();
    const b = await login(server, "bob", "b");
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await b.stanza(isMsg));
    assert.deepEqual(got.map((m) => m.getChildText("body")), ["one", "two", "three", "four"]);
    assert.deepEqual(got.map((m) => m.attrs.id), ["m1", "m2", "m3", "m4"]);
    for (const m of got) {
      assert.equal(m.attrs.from, "alice@localhost/a");
      const delay = m.getChild("delay", NS.delay)!;
      assert.equal(delay.attrs.from, "localhost");
      assert.match(delay.attrs.stamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.ok(Date.parse(delay.attrs.stamp) <= before);
    }
    assert.equal(got[2].getChildText("subject"), "s");
    assert.equal(got[2].getChild("x", "urn:example")?.text(), "kept", "other children kept");
    await untilStored(server, "bob", 0);

    // Delivered once only: the next login gets nothing.
    b.close();
    const again = await login(server, "bob", "b2");
    await again.stanza((e) => e.name === "presence");
    await again.nothing(isMsg, 200);
    // And messages to an available resource are not stored.
    a.send("<message to='bob@localhost' type='chat'><body>live</body></message>");
    const live = await again.stanza(isMsg);
    assert.equal(live.getChild("delay", NS.delay), undefined);
    assert.equal(await stored(server, "bob"), 0);
    a.close();
    again.close();
  } finally {
    await server.stop();
  }
});

Deno.test("offline: full storage bounces service-unavailable", async () => {
  const server = await startTestServer({ offline: { maxMessages: 2 } });
  try {
    const a = await login(server, "alice", "a");
    a.send("<message to='bob@localhost' type='chat' id='f1'><body>1</body></message>");
    a.send("<message to='bob@localhost' type='chat' id='f2'><body>2</body></message>");
    await untilStored(server, "bob", 2);
    a.send("<message to='bob@localhost' type='chat' id='f3'><body>3</body></message>");
    const err = await a.stanza((e) => e.attrs.id === "f3");
    assert.equal(err.attrs.type, "error");
    assert.equal(condition(err), "service-unavailable");
    assert.equal(await stored(server, "bob"), 2);
    a.close();
  } finally {
    await server.stop();
  }
});

Deno.test("offline: one sender fills at most its share of the box; others still get through", async () => {
  const server = await startTestServer(
    { offline: { maxMessages: 10, maxMessagesPerSender: 2 } },
    { alice: "wonderland", bob: "builder", carol: "builder" },
  );
  try {
    const a = await login(server, "alice", "a");
    for (let i = 1; i <= 2; i++) {
      a.send(`<message to='bob@localhost' type='chat' id='s${i}'><body>${i}</body></message>`);
    }
    await untilStored(server, "bob", 2);
    a.send("<message to='bob@localhost' type='chat' id='s3'><body>3</body></message>");
    assert.equal(condition(await a.stanza((e) => e.attrs.id === "s3")), "service-unavailable");
    const c = await login(server, "carol", "c");
    c.send("<message to='bob@localhost' type='chat' id='c1'><body>hi</body></message>");
    await untilStored(server, "bob", 3);
    a.close();
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("offline: no-store hint bounced, headline and chat states not stored", async () => {
  const server = await startTestServer();
  try {
    const a = await login(server, "alice", "a");
    a.send(
      "<message to='bob@localhost' type='chat' id='h1'><body>x</body>" +
        "<no-store xmlns='urn:xmpp:hints'/></message>",
    );
    assert.equal(condition(await a.stanza((e) => e.attrs.id === "h1")), "service-unavailable");
    a.send("<message to='bob@localhost' type='headline' id='h2'><body>news</body></message>");
    a.send(
      "<message to='bob@localhost' type='chat' id='h3'>" +
        "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>",
    );
    // A store hint keeps even an otherwise empty message.
    a.send(
      "<message to='bob@localhost' type='chat' id='h4'><store xmlns='urn:xmpp:hints'/></message>",
    );
    await untilStored(server, "bob", 1);
    await a.nothing((e) => e.attrs.type === "error", 100);
    const b = await login(server, "bob", "b");
    assert.equal((await b.stanza(isMsg)).attrs.id, "h4");
    await b.nothing(isMsg, 150);
    // Unknown users are not stored for: the core bounces.
    a.send("<message to='nobody@localhost' type='chat' id='h5'><body>?</body></message>");
    assert.equal(condition(await a.stanza((e) => e.attrs.id === "h5")), "service-unavailable");
    a.close();
    b.close();
  } finally {
    await server.stop();
  }
});

Deno.test("offline: a negative-priority resource gets nothing until it goes non-negative", async () => {
  const server = await startTestServer();
  try {
    const a = await login(server, "alice", "a");
    a.send("<message to='bob@localhost' type='chat' id='n1'><body>wait</body></message>");
    await untilStored(server, "bob", 1);
    const b = await login(server, "bob", "b", "<presence><priority>-1</priority></presence>");
    await b.stanza((e) => e.name === "presence");
    await b.nothing(isMsg, 150);
    assert.equal(await stored(server, "bob"), 1);
    b.send("<presence><priority>0</priority></presence>");
    const m = await b.stanza(isMsg);
    assert.equal(m.attrs.id, "n1");
    assert.ok(m.getChild("delay", NS.delay));
    await untilStored(server, "bob", 0);
    a.close();
    b.close();
  } finally {
    await server.stop();
  }
});

Deno.test("offline: going non-negative, the stored messages follow the presence", async () => {
  const server = await startTestServer();
  try {
    const a = await login(server, "alice", "a");
    const b = await login(server, "bob", "b", "<presence><priority>-5</priority></presence>");
    await b.stanza((e) => e.name === "presence");
    a.send("<message to='bob@localhost' type='chat' id='p1'><body>one</body></message>");
    a.send("<message to='bob@localhost' type='chat' id='p2'><body>two</body></message>");
    await untilStored(server, "bob", 2);
    // XEP-0160 §2 step 5: the new priority applies (the echo of the presence
    // comes first), then the messages stored meanwhile arrive, in order.
    b.send("<presence><priority>3</priority></presence>");
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const e = await b.stanza((e) => e.name === "presence" || isMsg(e));
      got.push(e.name === "presence" ? `presence ${e.getChildText("priority")}` : e.attrs.id!);
    }
    assert.deepEqual(got, ["presence 3", "p1", "p2"]);
    await untilStored(server, "bob", 0);
    a.close();
    b.close();
  } finally {
    await server.stop();
  }
});

Deno.test("offline: msgoffline is advertised", async () => {
  const server = await startTestServer();
  try {
    const a = await login(server, "alice", "a");
    const vars = await hostFeatures(a);
    assert.ok(vars.includes("msgoffline"));
    a.close();
  } finally {
    await server.stop();
  }
});

Deno.test("offline: when storing fails the sender gets internal-server-error, not silence", async () => {
  const server = await startTestServer({}, undefined, { storage: failingArchive("offline") });
  const a = await login(server, "alice", "a");
  try {
    a.send(`<message to='bob@localhost' type='chat' id='lost'><body>hello?</body></message>`);
    const reply = await a.stanza((e) => isMsg(e) && e.attrs.id === "lost");
    assert.equal(reply.attrs.type, "error");
    assert.equal(condition(reply), "internal-server-error");
    assert.equal(reply.getChild("error")?.attrs.type, "wait");
  } finally {
    a.close();
    await server.stop();
  }
});
