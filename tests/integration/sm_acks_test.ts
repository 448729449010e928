/**
 * Stream management negotiation and acks (XEP-0198 §3, §4) over real
 * sockets: where the feature is offered, the <failed/> cases, acks both
 * ways, and the server's ack requests by count and by time.
 */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { imLogin } from "../helpers/im.ts";
import { enable, failedCondition, Handled, sessionOf, SM, until } from "../helpers/sm.ts";
import type { Element } from "../../src/xml/element.ts";
import type { Frame } from "../../src/xml/parser.ts";

const chat = (to: string, n: number) =>
  `<message to='${to}' type='chat' id='m${n}'><body>${n}</body></message>`;

const isRequest = (e: Element) => e.name === "r" && e.attrs.xmlns === SM;

/** What `c` received, in order: message bodies and "r" for ack requests. */
function sequence(frames: Frame[]): string[] {
  return frames.flatMap((f) =>
    f.kind !== "stanza"
      ? []
      : isRequest(f.element)
      ? ["r"]
      : f.element.name === "message"
      ? [f.element.getChildText("body") ?? ""]
      : []
  );
}

Deno.test("sm: offered after authentication; enable only once bound, once; resume only before binding", async () => {
  const server = await startTestServer();
  try {
    const c = await TestClient.connect({ port: server.ports.c2s });
    const first = await c.open();
    assert.equal(first.getChild("sm", SM), undefined);
    c.close();

    const a = await TestClient.authenticate({
      port: server.ports.c2s,
      user: "alice",
      password: "wonderland",
    });
    assert.ok(a.features?.getChild("sm", SM), "offered with bind");
    assert.equal(failedCondition(await enable(a)), "unexpected-request");
    assert.equal((await a.bind("r")).attrs.type, "result");
    const enabled = await enable(a);
    assert.equal(enabled.name, "enabled");
    assert.equal(enabled.attrs.resume, "true");
    assert.equal(enabled.attrs.max, "300");
    assert.ok(enabled.attrs.id.length >= 20);
    assert.equal(failedCondition(await enable(a)), "unexpected-request");
    a.send(`<resume xmlns='${SM}' previd='${enabled.attrs.id}' h='0'/>`);
    const refused = await a.stanza((e) => e.name === "failed");
    assert.equal(failedCondition(refused), "unexpected-request");
    // Still a working stream.
    a.send(`<r xmlns='${SM}'/>`);
    assert.equal((await a.stanza((e) => e.name === "a")).attrs.h, "0");
    a.close();
  } finally {
    await server.stop();
  }
});

Deno.test("sm: the client's max is honoured up to the ceiling; resumption off gives acks only", async () => {
  const server = await startTestServer({ sm: { maxResumeTimeoutSeconds: 600 } });
  try {
    const a = await imLogin(server, "alice", "wonderland", "a");
    assert.equal((await enable(a, "resume='true' max='120'")).attrs.max, "120");
    const b = await imLogin(server, "alice", "wonderland", "b");
    assert.equal((await enable(b, "resume='1' max='100000'")).attrs.max, "600");
    a.close();
    b.close();
  } finally {
    await server.stop();
  }
  const off = await startTestServer({ sm: { resumeTimeoutSeconds: 0 } });
  try {
    const a = await imLogin(off, "alice", "wonderland", "a");
    const enabled = await enable(a);
    assert.equal(enabled.name, "enabled");
    assert.equal(enabled.attrs.resume, undefined);
    assert.equal(enabled.attrs.id, undefined);
    const b = await TestClient.authenticate({
      port: off.ports.c2s,
      user: "alice",
      password: "wonderland",
    });
    b.send(`<resume xmlns='${SM}' previd='whatever' h='0'/>`);
    assert.equal(
      failedCondition(await b.stanza((e) => e.name === "failed")),
      "feature-not-implemented",
    );
    // A dropped connection without resumption: the session ends at once.
    a.socket.destroy();
    await until(() => sessionOf(off, "alice@localhost/a") === undefined, "the end");
    b.close();
  } finally {
    await off.stop();
  }
});

Deno.test("sm: <r/> or <a/> before enabling is an unknown element to the stream", async () => {
  const server = await startTestServer();
  try {
    const a = await imLogin(server, "alice", "wonderland", "a");
    a.send(`<r xmlns='${SM}'/>`);
    assert.equal(await a.streamError(), "unsupported-stanza-type");
  } finally {
    await server.stop();
  }
});

Deno.test("sm: acks by count, one request at a time, h arithmetic, and h too high", async () => {
  const server = await startTestServer({ sm: { requestAckEvery: 5, requestAckSeconds: 0 } });
  try {
    const alice = await imLogin(server, "alice", "wonderland", "a");
    const handled = new Handled(alice);
    assert.equal((await enable(alice, "")).name, "enabled");
    const bob = await imLogin(server, "bob", "builder", "b");
    const session = sessionOf(server, "alice@localhost/a")!;
    for (let n = 1; n <= 7; n++) bob.send(chat("alice@localhost/a", n));
    await until(() => handled.count === 7, "7 messages");
    await new Promise((r) => setTimeout(r, 100)); // a second request would be here by now
    // One request, right after the fifth unacked stanza; none more while it is unanswered.
    assert.deepEqual(sequence(alice.frames), ["1", "2", "3", "4", "5", "r", "6", "7"]);
    alice.frames.length = 0;

    alice.send(`<a xmlns='${SM}' h='3'/>`);
    await until(() => session.outbox.unackedCount === 4, "3 acked");
    await alice.nothing(isRequest, 100);
    bob.send(chat("alice@localhost/a", 8)); // the fifth unacked again: a new request
    await alice.stanza(isRequest);
    alice.send(`<a xmlns='${SM}' h='8'/>`);
    await until(() => session.outbox.unackedCount === 0, "all acked");

    // The other way: the server counts what alice sent since enabling.
    alice.send(`<r xmlns='${SM}'/>`);
    assert.equal((await alice.stanza((e) => e.name === "a")).attrs.h, "0");
    alice.send(`<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
    alice.send(chat("bob@localhost/b", 1));
    alice.send(`<r xmlns='${SM}'/>`);
    assert.equal((await alice.stanza((e) => e.name === "a")).attrs.h, "2");

    // More than was sent: the stream ends (§4).
    await alice.stanza((e) => e.attrs.id === "p1");
    const sent = handled.count;
    alice.send(`<a xmlns='${SM}' h='${sent + 1}'/>`);
    const error = await alice.stanza((e) => e.name === "stream:error");
    assert.ok(error.getChild("undefined-condition", "urn:ietf:params:xml:ns:xmpp-streams"));
    const detail = error.getChild("handled-count-too-high", SM)!;
    assert.deepEqual(
      [detail.attrs.h, detail.attrs["send-count"]],
      [String(sent + 1), String(sent)],
    );
    await alice.waitClosed();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("sm: acks requested by time, again while unanswered, and no more once acked", async () => {
  const server = await startTestServer({
    sm: { requestAckEvery: 100, requestAckSeconds: 0.2 },
  });
  try {
    const alice = await imLogin(server, "alice", "wonderland", "a");
    assert.equal((await enable(alice, "")).name, "enabled");
    const bob = await imLogin(server, "bob", "builder", "b");
    bob.send(chat("alice@localhost/a", 1));
    await alice.stanza((e) => e.name === "message");
    await alice.stanza(isRequest);
    await alice.stanza(isRequest); // the first unanswered: asked again by time
    alice.send(`<a xmlns='${SM}' h='1'/>`);
    await until(() => sessionOf(server, "alice@localhost/a")!.outbox.unackedCount === 0, "acked");
    alice.frames.length = 0;
    await alice.nothing(isRequest, 600);
    // The quiet was a server that stopped asking, not one that stopped: it still answers.
    alice.send(`<r xmlns='${SM}'/>`);
    await alice.stanza((e) => e.name === "a" && e.attrs.xmlns === SM);
    assert.ok(!alice.frames.some((f) => f.kind === "stanza" && isRequest(f.element)));
    alice.close();
    bob.close();
  } finally {
    await server.stop();
  }
});
