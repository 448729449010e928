/**
 * Federation transport paths between two Parley instances on 127.0.0.1:
 * idle outgoing streams closing and being reopened on demand, and
 * outgoing direct TLS (XEP-0368) through a `tls://` static route.
 */
import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";
import { loginAt as login } from "../helpers/federation.ts";
import { fakeHeader, FakeS2sServer, S2sPeer } from "../helpers/s2s_peer.ts";

/** Polls `check` until it holds; fails after `ms` (a bound, not a timing goal). */
async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("s2s: an idle outgoing stream is closed and the next stanza reconnects", async () => {
  const s2s = { idleTimeoutSeconds: 1 };
  const a = await startTestServer({ hosts: ["a.test"], s2s });
  const b = await startTestServer({ hosts: ["b.test"], s2s });
  a.config.s2s.hosts["b.test"] = `127.0.0.1:${b.ports.s2s}`;
  b.config.s2s.hosts["a.test"] = `127.0.0.1:${a.ports.s2s}`;
  const alice = await login(a, "alice", "wonderland", "a.test");
  const bob = await login(b, "bob", "builder", "b.test");
  try {
    alice.send(`<message to='bob@b.test/r' type='chat' id='i1'><body>1</body></message>`);
    await bob.stanza((e) => e.attrs.id === "i1");
    const first = a.s2s!.manager.outgoing("a.test", "b.test");
    assert.equal(first?.ready, true);

    // Nothing more flows: the stream closes by itself and is forgotten.
    await until(() => first!.closed, "the idle stream to close");
    assert.equal(a.s2s!.manager.outgoing("a.test", "b.test"), undefined);
    // b's stream back (it carried the dialback check) goes idle too; the next
    // message starts from nothing rather than racing that close.
    await until(
      () => b.s2s!.manager.outgoing("b.test", "a.test") === undefined,
      "b's idle stream back to close",
    );

    // A later message opens a new stream and still arrives.
    alice.send(`<message to='bob@b.test/r' type='chat' id='i2'><body>2</body></message>`);
    const got = await bob.stanza((e) => e.attrs.id === "i2");
    assert.equal(got.attrs.from, "alice@a.test/r");
    const second = a.s2s!.manager.outgoing("a.test", "b.test");
    assert.ok(second && second !== first);
  } finally {
    alice.close();
    bob.close();
    await a.stop();
    await b.stop();
  }
});

Deno.test("s2s: a tls:// static route connects to the peer's direct-TLS listener (XEP-0368)", async () => {
  const a = await startTestServer({ hosts: ["a.test"] });
  // b.test takes servers only on its direct-TLS port: the STARTTLS listener is off.
  const b = await startTestServer({
    hosts: ["b.test"],
    listeners: { s2s: { enabled: false }, s2sDirectTls: { enabled: true } },
  });
  assert.equal(b.ports.s2s, undefined);
  a.config.s2s.hosts["b.test"] = `tls://127.0.0.1:${b.ports.s2sDirectTls}`;
  // b.test verifies a.test's dialback key over its own (STARTTLS) stream back.
  b.config.s2s.hosts["a.test"] = `127.0.0.1:${a.ports.s2s}`;
  const alice = await login(a, "alice", "wonderland", "a.test");
  const bob = await login(b, "bob", "builder", "b.test");
  try {
    alice.send(`<message to='bob@b.test/r' type='chat' id='d1'><body>direct</body></message>`);
    const got = await bob.stanza((e) => e.attrs.id === "d1");
    assert.equal(got.attrs.from, "alice@a.test/r");
    assert.equal(got.getChildText("body"), "direct");
    assert.equal(a.s2s!.manager.outgoing("a.test", "b.test")?.ready, true);

    bob.send(`<message to='alice@a.test/r' type='chat' id='d2'><body>back</body></message>`);
    await alice.stanza((e) => e.attrs.id === "d2");
  } finally {
    alice.close();
    bob.close();
    await a.stop();
    await b.stop();
  }
});

Deno.test("s2s: an outgoing stream waiting for a db:verify answer is not closed as idle", async () => {
  // Seen as a flaky reconnect: the idle timer closed the stream that carried a
  // db:verify for the peer's new stream, failing that stream's dialback.
  const b = await startTestServer({
    hosts: ["b.test"],
    // Idle after 2 s: the peer's stream (below) must ask its db:verify
    // before that, even on a loaded machine; the answer comes after it.
    s2s: { requireEncryption: false, idleTimeoutSeconds: 2 },
  });
  const ANSWER_AFTER_MS = 3000;
  const fake = await FakeS2sServer.start((text, s) => {
    if (text.includes("<stream:stream")) s.write(fakeHeader("old.test", "s3", null));
    if (text.includes("<db:result")) {
      s.write(`<db:result from='old.test' to='b.test' type='valid'/>`);
    }
    const verify = /<db:verify [^>]*id='([^']+)'/.exec(text);
    if (verify) {
      // Slower than the idle timeout: the answer must still find the stream open.
      setTimeout(() => {
        if (!s.destroyed) {
          s.write(`<db:verify from='old.test' to='b.test' id='${verify[1]}' type='valid'/>`);
        }
      }, ANSWER_AFTER_MS);
    }
  });
  b.config.s2s.hosts["old.test"] = fake.route;
  const bob = await login(b, "bob", "builder", "b.test");
  let peer: S2sPeer | undefined;
  try {
    // The outgoing stream comes up and carries one stanza, then nothing.
    bob.send(`<message to='x@old.test' id='out1'><body>hi</body></message>`);
    await fake.until((r) => r.includes("id='out1'"));
    await new Promise((r) => setTimeout(r, 600));
    // old.test's own stream to b.test: its key is checked over that idle stream.
    peer = await S2sPeer.connect(b.ports.s2s, "old.test", "b.test");
    const result = await peer.dialbackResult(() => "k".repeat(64));
    assert.equal(result.attrs.type, "valid");
    assert.equal(fake.sockets.length, 1, "the verification used the existing stream");
  } finally {
    peer?.close();
    bob.close();
    await fake.close();
    await b.stop();
  }
});

Deno.test("s2s: a db:verify whose stream ends before the answer is asked again on a new stream", async () => {
  // The authoritative server closes its end (as idle) just as our db:verify
  // crosses it: a race between two servers, not a verdict on the key.
  const b = await startTestServer({ hosts: ["b.test"], s2s: { requireEncryption: false } });
  let verifies = 0;
  const fake = await FakeS2sServer.start((text, s) => {
    if (text.includes("<stream:stream")) {
      s.write(fakeHeader("old.test", "s" + fake.sockets.length, null));
    }
    if (text.includes("<db:result")) {
      s.write(`<db:result from='old.test' to='b.test' type='valid'/>`);
    }
    const verify = /<db:verify [^>]*id='([^']+)'/.exec(text);
    if (verify && ++verifies === 1) s.end("</stream:stream>");
    else if (verify) {
      s.write(`<db:verify from='old.test' to='b.test' id='${verify[1]}' type='valid'/>`);
    }
  });
  b.config.s2s.hosts["old.test"] = fake.route;
  let peer: S2sPeer | undefined;
  try {
    peer = await S2sPeer.connect(b.ports.s2s, "old.test", "b.test");
    const result = await peer.dialbackResult(() => "k".repeat(64));
    assert.equal(result.attrs.type, "valid");
    assert.equal(verifies, 2, "asked twice");
    assert.equal(fake.sockets.length, 2, "the second time on a new stream");
  } finally {
    peer?.close();
    await fake.close();
    await b.stop();
  }
});
