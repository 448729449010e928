import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { NS } from "../../src/xml/namespaces.ts";

function login(server: TestServer, user: string, resource: string, presence?: string | false) {
  const password = user === "alice" ? "wonderland" : "builder";
  return TestClient.login({ port: server.ports.c2s, user, password, resource, presence });
}

Deno.test("messages between two resources of two users, with from stamped", async () => {
  const server = await startTestServer();
  try {
    const a1 = await login(server, "alice", "a1");
    const b1 = await login(server, "bob", "b1");
    await a1.stanza((e) => e.name === "presence"); // own presence reflected
    await b1.stanza((e) => e.name === "presence");
    a1.send(
      "<message to='bob@localhost/b1' type='chat' id='m1'><body>hi &amp; bye</body></message>",
    );
    const got = await b1.stanza((e) => e.name === "message");
    assert.equal(got.attrs.from, "alice@localhost/a1");
    assert.equal(got.getChildText("body"), "hi & bye");
    assert.equal(got.attrs["xml:lang"], "en", "stream xml:lang applied");
    b1.send(
      "<message to='alice@localhost/a1' type='chat' xml:lang='de'><body>hallo</body></message>",
    );
    const back = await a1.stanza((e) => e.name === "message");
    assert.equal(back.attrs.from, "bob@localhost/b1");
    assert.equal(back.attrs["xml:lang"], "de", "a stanza's own xml:lang is kept");
    a1.close();
    b1.close();
  } finally {
    await server.stop();
  }
});

Deno.test("a from naming the sender's own JID in another case is accepted and stamped canonical", async () => {
  const server = await startTestServer();
  try {
    const a1 = await login(server, "alice", "a1");
    const b1 = await login(server, "bob", "b1");
    for (const [id, from] of [["full", "ALICE@LocalHost/a1"], ["bare", "Alice@localhost"]]) {
      a1.send(`<message from='${from}' to='bob@localhost/b1' id='${id}'><body>x</body></message>`);
      const got = await b1.stanza((e) => e.name === "message" && e.attrs.id === id);
      assert.equal(got.attrs.from, "alice@localhost/a1");
    }
    // The resourcepart is case-sensitive: another resource is still someone else.
    a1.send("<message from='alice@localhost/A1' to='bob@localhost/b1'><body>x</body></message>");
    assert.equal(await a1.streamError(), "invalid-from");
    b1.close();
  } finally {
    await server.stop();
  }
});

Deno.test("bare-JID messages go to the highest-priority available resources", async () => {
  const server = await startTestServer();
  try {
    const low = await login(server, "bob", "low", "<presence><priority>1</priority></presence>");
    const high = await login(server, "bob", "high", "<presence><priority>5</priority></presence>");
    const neg = await login(server, "bob", "neg", "<presence><priority>-1</priority></presence>");
    const quiet = await login(server, "bob", "quiet", false); // connected, not available
    const a = await login(server, "alice", "a");
    // Let the presences settle before routing on them.
    await high.stanza((e) => e.name === "presence" && e.attrs.from === "bob@localhost/neg");
    a.send("<message to='bob@localhost' type='chat'><body>1</body></message>");
    const m = await high.stanza((e) => e.name === "message");
    assert.equal(m.getChildText("body"), "1");
    await low.nothing((e) => e.name === "message");
    await neg.nothing((e) => e.name === "message");
    await quiet.nothing((e) => e.name === "message");
    // The top resource goes unavailable: the next one takes over.
    high.send("<presence type='unavailable'/>");
    await low.stanza((e) => e.name === "presence" && e.attrs.type === "unavailable");
    a.send("<message to='bob@localhost' type='chat'><body>2</body></message>");
    assert.equal((await low.stanza((e) => e.name === "message")).getChildText("body"), "2");
    // A full JID reaches even a resource that is only connected.
    a.send("<message to='bob@localhost/quiet'><body>3</body></message>");
    assert.equal((await quiet.stanza((e) => e.name === "message")).getChildText("body"), "3");
    for (const c of [low, high, neg, quiet, a]) c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("unknown users and unhandled iqs get service-unavailable", async () => {
  const server = await startTestServer();
  try {
    const a = await login(server, "alice", "a");
    a.send("<message to='nobody@localhost' type='chat' id='x1'><body>?</body></message>");
    const err = await a.stanza((e) => e.attrs.id === "x1");
    assert.equal(err.attrs.type, "error");
    assert.ok(err.getChild("error")?.getChild("service-unavailable", NS.stanzas));
    a.send("<iq type='get' id='q1' to='localhost'><query xmlns='urn:example:nothing'/></iq>");
    const iqErr = await a.stanza((e) => e.attrs.id === "q1");
    assert.equal(iqErr.attrs.type, "error");
    assert.equal(iqErr.attrs.from, "localhost");
    assert.ok(iqErr.getChild("error")?.getChild("service-unavailable", NS.stanzas));
    a.send(
      "<iq type='get' id='q2' to='nobody@localhost/r'><query xmlns='urn:example:nothing'/></iq>",
    );
    assert.equal((await a.stanza((e) => e.attrs.id === "q2")).attrs.type, "error");
    // headline to an unknown user is silently dropped (RFC 6121 §8.5.2)
    a.send("<message to='nobody@localhost' type='headline' id='h1'><body>?</body></message>");
    await a.nothing((e) => e.attrs.id === "h1");
    a.send("<iq type='get' id='bad'/>");
    const bad = await a.stanza((e) => e.attrs.id === "bad");
    assert.ok(bad.getChild("error")?.getChild("bad-request", NS.stanzas));
    a.send("<message to='bad@@jid' id='j1'/>");
    const jm = await a.stanza((e) => e.attrs.id === "j1");
    assert.ok(jm.getChild("error")?.getChild("jid-malformed", NS.stanzas));
    a.send("<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
    assert.equal((await a.stanza((e) => e.attrs.id === "s1")).attrs.type, "result");
    a.close();
  } finally {
    await server.stop();
  }
});

Deno.test("resource conflict: the new session replaces the old one by default", async () => {
  const server = await startTestServer();
  try {
    const first = await login(server, "alice", "same");
    const second = await login(server, "alice", "same");
    assert.equal(await first.streamError(), "conflict");
    await first.waitClosed();
    const b = await login(server, "bob", "b");
    b.send("<message to='alice@localhost/same'><body>x</body></message>");
    await second.stanza((e) => e.name === "message");
    second.close();
    b.close();
  } finally {
    await server.stop();
  }
});

Deno.test("resource conflict: reject policy refuses the new binding", async () => {
  const server = await startTestServer({ c2s: { resourceConflict: "reject" } });
  try {
    const first = await login(server, "alice", "same");
    await assert.rejects(login(server, "alice", "same"), /conflict/);
    first.send("<iq type='get' id='p' to='localhost'><query xmlns='urn:example:x'/></iq>");
    await first.stanza((e) => e.attrs.id === "p");
    first.close();
  } finally {
    await server.stop();
  }
});

Deno.test("the server answers XEP-0199 pings", async () => {
  const server = await startTestServer();
  try {
    const a = await login(server, "alice", "a");
    a.send("<iq type='get' id='ping1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
    const pong = await a.stanza((e) => e.attrs.id === "ping1");
    assert.equal(pong.attrs.type, "result");
    assert.equal(pong.attrs.from, "localhost");
    // Without `to` (profanity's /ping): answered for the account, no from.
    a.send("<iq type='get' id='ping2'><ping xmlns='urn:xmpp:ping'/></iq>");
    const own = await a.stanza((e) => e.attrs.id === "ping2");
    assert.equal(own.attrs.type, "result");
    assert.equal(own.attrs.from, undefined);
    a.close();
  } finally {
    await server.stop();
  }
});
