/**
 * Federation transport paths between two Parley instances on 127.0.0.1:
 * idle outgoing streams closing and being reopened on demand, and
 * outgoing direct TLS (XEP-0368) through a `tls://` static route.
 */
import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";
import { loginAt as login } from "../helpers/federation.ts";

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
