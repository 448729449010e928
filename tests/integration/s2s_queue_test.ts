/**
 * Stanzas for a remote domain wait while its outgoing stream connects and
 * authenticates: that queue is bounded (s2s.maxQueuedBytes), what does not
 * fit is bounced at once with resource-constraint, and once the stream is
 * up the queue goes out at the pace the peer reads, so a queue larger than
 * the output mark (s2s.maxOutputBytes) does not close the stream by itself.
 */
import assert from "node:assert/strict";
import type * as net from "node:net";
import { errorCondition, TestClient } from "../helpers/client.ts";
import { fakeHeader, FakeS2sServer } from "../helpers/s2s_peer.ts";
import { startTestServer } from "../helpers/server.ts";
import type { Element } from "../../src/xml/element.ts";

const MARK = 64 * 1024;
const QUEUE = 4 * MARK;
const BODY = "z".repeat(16 * 1024);
/** 512 KiB of messages: twice what may wait. */
const COUNT = 32;

/** The numbers of the messages `alice` got back as errors with `condition`. */
function bounced(alice: TestClient, condition: string): number[] {
  return alice.frames.flatMap((f) =>
    f.kind === "stanza" && f.element.attrs.type === "error" &&
      f.element.attrs.id?.startsWith("q") && errorCondition(f.element) === condition
      ? [Number(f.element.attrs.id.slice(1))]
      : []
  );
}

Deno.test("s2s out: stanzas queued while connecting are bounded, the rest bounced at once; the queue is flushed as the peer reads", async () => {
  const server = await startTestServer({
    c2s: { readRateBytesPerSecond: 0 },
    s2s: { maxOutputBytes: MARK, maxQueuedBytes: QUEUE, requireEncryption: false },
  });
  // A pre-1.0 server (no TLS, so the test sees every byte) that keeps its
  // dialback answer until the test releases it, and reads everything.
  let answer: net.Socket | undefined;
  const fake = await FakeS2sServer.start((text, s) => {
    if (text.includes("<stream:stream")) s.write(fakeHeader("slow.test", "q1", null));
    if (text.includes("<db:result")) answer = s;
  });
  server.config.s2s.hosts["slow.test"] = fake.route;
  const alice = await TestClient.login({
    port: server.ports.c2s,
    user: "alice",
    password: "wonderland",
  });
  try {
    for (let i = 0; i < COUNT; i++) {
      alice.send(`<message to='x@slow.test' id='q${i}'><body>${BODY}</body></message>`);
    }
    // The last one does not fit: bounced at once, long before s2s.connectTimeoutSeconds.
    const last = await alice.stanza((e) => e.attrs.id === `q${COUNT - 1}`);
    assert.equal(last.attrs.type, "error");
    assert.equal(last.getChild("error")?.attrs.type, "wait");
    assert.equal(errorCondition(last), "resource-constraint");
    await fake.until((r) => r.includes("<db:result"));
    // What was bounced is exactly what came after the queue was full.
    const refused = bounced(alice, "resource-constraint");
    const queued = COUNT - refused.length - 1; // q(COUNT-1) was taken above
    // ~16.5 KiB each once routed: 15 fit in 256 KiB.
    assert.ok(queued >= 12 && queued <= 16, `${queued} queued`);
    assert.deepEqual(refused, Array.from({ length: refused.length }, (_, k) => queued + k));
    assert.ok(!fake.received.includes("<message"));

    // The stream is authenticated: its queue (about 4 marks) must reach the peer whole.
    answer!.write(`<db:result from='slow.test' to='localhost' type='valid'/>`);
    await fake.until((r) => r.includes(`id='q${queued - 1}'`), 15_000);
    const order = [...fake.received.matchAll(/<message [^>]*id='q(\d+)'/g)].map((m) => +m[1]);
    assert.deepEqual(order, Array.from({ length: queued }, (_, k) => k));
    // Nothing bounced for an overflow, and the stream still carries stanzas.
    alice.send(`<message to='x@slow.test' id='after'><body>1</body></message>`);
    await fake.until((r) => r.includes("id='after'"));
    assert.deepEqual(bounced(alice, "remote-server-timeout"), []);
    assert.ok(!fake.received.includes("resource-constraint"));
    await alice.nothing((e: Element) => e.attrs.id === "after", 100);
  } finally {
    alice.close();
    await fake.close();
    await server.stop();
  }
});

Deno.test("s2s out: stanzas queued over all connecting streams are bounded too (s2s.maxQueuedBytesTotal)", async () => {
  const server = await startTestServer({
    c2s: { readRateBytesPerSecond: 0 },
    s2s: {
      maxQueuedBytes: 12 * 16 * 1024,
      maxQueuedBytesTotal: QUEUE,
      requireEncryption: false,
      connectTimeoutSeconds: 1,
    },
  });
  // Never answers dialback: both streams stay connecting until they time out.
  const fake = await FakeS2sServer.start((text, s) => {
    const to = /<stream:stream [^>]*\bto='([^']+)'/.exec(text)?.[1];
    if (to) s.write(fakeHeader(to, "q-" + to, null));
  });
  server.config.s2s.hosts["a.test"] = fake.route;
  server.config.s2s.hosts["b.test"] = fake.route;
  const alice = await TestClient.login({
    port: server.ports.c2s,
    user: "alice",
    password: "wonderland",
  });
  const flood = (domain: string, from: number) => {
    for (let i = from; i < from + 10; i++) {
      alice.send(`<message to='x@${domain}' id='q${i}'><body>${BODY}</body></message>`);
    }
  };
  try {
    // 10 for a.test fit its stream's bound (12); b.test's stream has room for 12 of its
    // own, but only ~5 more fit the total of 16.
    flood("a.test", 0);
    flood("b.test", 10);
    const last = await alice.stanza((e) => e.attrs.id === "q19");
    assert.equal(errorCondition(last), "resource-constraint");
    const refused = [...bounced(alice, "resource-constraint"), 19];
    assert.ok(refused.every((i) => i >= 10), `${refused}`);
    assert.ok(refused.length >= 3 && refused.length <= 7, `${refused}`);
    // The streams time out: what they held is bounced and its room given back.
    // Both: b.test's stream started a moment later and may still hold its share.
    const timedOut = (i: number) => (e: Element) =>
      e.attrs.id === `q${i}` && errorCondition(e) === "remote-server-timeout";
    await alice.stanza(timedOut(9));
    for (let i = 10; i < 20; i++) if (!refused.includes(i)) await alice.stanza(timedOut(i));
    flood("b.test", 20);
    const again = await alice.stanza((e) => e.attrs.id === "q29");
    assert.equal(errorCondition(again), "remote-server-timeout");
    assert.ok(bounced(alice, "resource-constraint").every((i) => i < 20));
  } finally {
    alice.close();
    await fake.close();
    await server.stop();
  }
});
