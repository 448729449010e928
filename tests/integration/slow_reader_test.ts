/**
 * A client that stops reading while another floods it: the server's output
 * for it is bounded by `c2s.maxOutputBytes`, it is disconnected, memory
 * stays bounded, and the messages it did not get are offline messages at
 * its next login.
 *
 * What is guaranteed: every message that had not reached the kernel when
 * the output overflowed, and every one after, is stored offline, in order
 * (the offline ids are exactly a suffix of what the sender sent). What the
 * kernel had already taken (socket buffers, a few MiB on loopback) is lost
 * if the client never reads it, as with any dropped TCP connection without
 * stream management. The other way round, a socket counts a write as
 * pending until all of it is in the kernel, so the front of the write in
 * flight may reach the client and be stored too: at most a mark's worth
 * arrives twice (measured: 0–5 messages of 16 KiB), never one is missing.
 */
import assert from "node:assert/strict";
import { errorCondition, TestClient } from "../helpers/client.ts";
import { fakeHeader, FakeS2sServer } from "../helpers/s2s_peer.ts";
import { startServerProcess } from "../helpers/server_process.ts";
import { startTestServer } from "../helpers/server.ts";
import { connectComponent } from "../helpers/component.ts";
import { NS } from "../../src/xml/namespaces.ts";
import type { Element } from "../../src/xml/element.ts";
import type { Frame } from "../../src/xml/parser.ts";

const MARK = 256 * 1024;
const BODY = "z".repeat(16 * 1024);
const FLOOD_COUNT = 8192; // 128 MiB of messages
const CHAT_COUNT = 1024; // 16 MiB: more than the kernel's buffers and the mark
/**
 * RSS the flood may add: less than the flood itself. Measured: +85 MB with
 * the mark (garbage of parsing and routing, whatever the flood's size),
 * +190 MB for a third of this flood without it (every byte queued, twice).
 */
const RSS_BOUND_KB = 128 * 1024;

function ids(c: TestClient, pred: (e: Element) => boolean = () => true): number[] {
  return c.frames.flatMap((f) =>
    f.kind === "stanza" && f.element.name === "message" && pred(f.element) &&
      f.element.attrs.id?.startsWith("m")
      ? [Number(f.element.attrs.id.slice(1))]
      : []
  );
}

/** Alice sends `count` messages built by `stanza`, as fast as her socket takes them. */
async function send(alice: TestClient, count: number, stanza: (i: number) => string) {
  for (let i = 0; i < count; i++) {
    if (alice.socket.write(stanza(i))) continue;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`alice's writes stalled at ${i}`)), 30_000);
      alice.socket.once("drain", () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
  // A ping answered: the server has routed every message before it.
  alice.send("<iq type='get' id='sync'><ping xmlns='urn:xmpp:ping'/></iq>");
  await alice.stanza((e) => e.attrs.id === "sync", 60_000);
}

const login = (port: number, user: string, resource?: string) =>
  TestClient.login({ port, user, password: "x", resource, mechanism: "PLAIN" });

/** Bob and alice online; bob has seen his presence echo, then stops reading. */
async function bobStopsReading(port: number): Promise<{ bob: TestClient; alice: TestClient }> {
  const bob = await login(port, "bob", "r");
  const alice = await login(port, "alice");
  await bob.stanza((e) => e.name === "presence");
  bob.stopReading();
  return { bob, alice };
}

Deno.test({
  name: "slow reader: the server's memory stays bounded and the reader is disconnected",
  // The server runs as a child process; its stderr pipe is read to the end.
  sanitizeResources: false,
  fn: async () => {
    // A small young generation: with V8's default, when garbage of parsing
    // the flood is collected is timing noise of tens of MB (the same code
    // measured +48 to +138 MB), which hid what this measures: what is held.
    const server = await startServerProcess({
      c2s: { maxOutputBytes: MARK, readRateBytesPerSecond: 0 },
    }, ["--v8-flags=--max-semi-space-size=1"]);
    const clients: TestClient[] = [];
    let sampling = true;
    try {
      const port = server.ports["c2s"];
      const { bob, alice } = await bobStopsReading(port);
      clients.push(bob, alice);
      const base = await server.rssKb();
      let peak = base;
      const sampler = (async () => {
        while (sampling) {
          peak = Math.max(peak, await server.rssKb());
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      // Headlines to his full JID: dropped once he is gone (not stored
      // offline), so RSS shows the output buffering alone.
      await send(
        alice,
        FLOOD_COUNT,
        (i) =>
          `<message to='bob@localhost/r' type='headline' id='m${i}'><body>${BODY}</body></message>`,
      );
      sampling = false;
      await sampler;
      const grew = peak - base;
      console.log(`RSS ${base} KiB, peak ${peak} KiB (+${grew} KiB) under a 128 MiB flood`);
      assert.ok(grew < RSS_BOUND_KB, `RSS grew by ${grew} KiB`);
      bob.resumeReading();
      await bob.waitClosed(15_000);
    } finally {
      sampling = false;
      for (const c of clients) c.socket.destroy();
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "slow reader: what it did not get is stored offline, in order, at most a mark's worth twice",
  sanitizeResources: false,
  fn: async () => {
    const server = await startServerProcess({
      c2s: { maxOutputBytes: MARK, readRateBytesPerSecond: 0 },
      offline: {
        maxMessages: 100_000,
        maxMessagesPerSender: 100_000,
        maxBytes: 1 << 30,
        maxBytesPerSender: 1 << 30,
      },
    });
    const clients: TestClient[] = [];
    try {
      const port = server.ports["c2s"];
      const { bob, alice } = await bobStopsReading(port);
      clients.push(bob, alice);
      await send(
        alice,
        CHAT_COUNT,
        (i) => `<message to='bob@localhost' type='chat' id='m${i}'><body>${BODY}</body></message>`,
      );
      // Bob was cut off: reading again, he gets what the kernel held, then the end.
      bob.resumeReading();
      await bob.waitClosed(15_000);
      const read = ids(bob);

      const again = await login(port, "bob", "r2");
      clients.push(again);
      const last = (f: Frame) => f.kind === "stanza" && f.element.attrs.id === `m${CHAT_COUNT - 1}`;
      for (let waited = 0; !again.frames.some(last) && waited < 30_000; waited += 50) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const offline = ids(again, (e) => e.getChild("delay", NS.delay) !== undefined);
      const first = offline[0];
      console.log(
        `bob read ${read.length}, offline m${first}..m${offline.at(-1)} (${offline.length}); ` +
          `lost in kernel buffers: ${Math.max(0, first - read.length)}, ` +
          `stored twice: ${Math.max(0, read.length - first)}`,
      );
      assert.deepEqual(read, read.map((_, i) => i), "what bob read came in order");
      assert.ok(
        (read.length - first) * BODY.length <= MARK,
        `${read.length - first} messages bob read are stored again, more than a mark's worth`,
      );
      assert.deepEqual(
        offline,
        Array.from({ length: CHAT_COUNT - first }, (_, i) => first + i),
        "offline holds every message from the first it holds to the last sent, in order",
      );
      assert.ok(offline.length > 0, "the overflow left messages for offline storage");
      // Lost: only what the kernel had fully taken. Measured on Deno 2.9.6: none (a socket's
      // buffer counts a write until all of it is in the kernel); without the hand-over to
      // offline storage, everything queued for bob (the mark's worth and more) was lost.
      assert.ok(
        (first - read.length) * BODY.length < MARK,
        `${first - read.length} messages lost, more than the kernel takes`,
      );
    } finally {
      for (const c of clients) c.socket.destroy();
      await server.stop();
    }
  },
});

Deno.test("slow reader: an external component that stops reading is disconnected", async () => {
  const server = await startTestServer({
    components: { "bots.localhost": { secret: "s3cret" } },
    c2s: { readRateBytesPerSecond: 0 },
    s2s: { maxOutputBytes: 65536 },
    component: { maxOutputBytes: 65536 },
  });
  try {
    const bot = await connectComponent(server, "bots.localhost", "s3cret");
    bot.stopReading();
    const alice = await TestClient.login({
      port: server.ports.c2s,
      user: "alice",
      password: "wonderland",
    });
    // 16 MiB: more than the kernel's buffers and the mark.
    await send(
      alice,
      1024,
      (i) => `<message to='echo@bots.localhost' id='m${i}'><body>${BODY}</body></message>`,
    );
    bot.resumeReading();
    await bot.waitClosed(15_000);
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("slow reader: a remote server that stops reading gets its stream closed, the stanzas it did not take bounced", async () => {
  const server = await startTestServer({
    c2s: { readRateBytesPerSecond: 0 },
    s2s: { maxOutputBytes: 65536, requireEncryption: false },
  });
  // A pre-1.0 server (no TLS, so the test sees every byte) that accepts
  // dialback, then stops reading at the first message.
  const fake = await FakeS2sServer.start((text, s) => {
    if (text.includes("<stream:stream")) s.write(fakeHeader("stuck.test", "s1", null));
    if (text.includes("<db:result")) {
      s.write(`<db:result from='stuck.test' to='localhost' type='valid'/>`);
    }
    if (text.includes("<message")) s.pause();
  });
  server.config.s2s.hosts["stuck.test"] = fake.route;
  const alice = await TestClient.login({
    port: server.ports.c2s,
    user: "alice",
    password: "wonderland",
  });
  try {
    // 16 MiB: more than the kernel's buffers and the mark.
    await send(
      alice,
      1024,
      (i) => `<message to='x@stuck.test' id='m${i}'><body>${BODY}</body></message>`,
    );
    const bounce = await alice.stanza(
      (e) => e.attrs.type === "error" && e.attrs.id?.startsWith("m") === true,
      15_000,
    );
    assert.equal(errorCondition(bounce), "remote-server-timeout");
    const bounced = ids(alice, (e) => e.attrs.type === "error");
    // Oldest first, each once; m0 reached the peer.
    assert.ok(bounced.every((i, k) => i > 0 && i <= 1024 && (k === 0 || i > bounced[k - 1])));
    // None the peer got is bounced.
    const got = bounced.filter((i) => fake.received.includes(`id='m${i}'`));
    assert.deepEqual(got, []);
  } finally {
    alice.close();
    await fake.close();
    await server.stop();
  }
});
