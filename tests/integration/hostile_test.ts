import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { NS } from "../../src/xml/namespaces.ts";

const HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " +
  "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>";

async function loggedIn(server: TestServer, user = "alice", password = "wonderland") {
  return await TestClient.login({ port: server.ports.c2s, user, password, resource: "r" });
}

/** A logged-in bystander still gets its messages: the server kept serving. */
async function stillServing(server: TestServer, bystander: TestClient) {
  const other = await loggedIn(server, "bob", "builder");
  other.send(`<message to='${bystander.jid}'><body>still here</body></message>`);
  await bystander.stanza((e) => e.name === "message" && e.getChildText("body") === "still here");
  other.close();
}

/** Open a raw TLS stream (direct TLS) and send `bytes` after the header. */
async function raw(server: TestServer, bytes: string, header = HEADER): Promise<TestClient> {
  const c = await TestClient.connect({ port: server.ports.c2sDirectTls, directTls: true });
  c.send(header + bytes);
  return c;
}

Deno.test("hostile input gets its stream error and the server keeps serving", async (t) => {
  const server = await startTestServer();
  const bystander = await loggedIn(server);
  try {
    const cases: [string, string, string?][] = [
      ["malformed XML", "<message><body></message>", "not-well-formed"],
      ["DTD", "<!DOCTYPE foo>", "restricted-xml"],
      ["comment", "<!-- hi -->", "restricted-xml"],
      ["processing instruction", "<?evil x?>", "restricted-xml"],
      ["undeclared prefix", "<foo:bar/>", "bad-namespace-prefix"],
      ["stanza before authentication", "<message to='bob@localhost'/>", "not-authorized"],
      ["unknown host", "", "host-unknown"],
      ["no to", "", "host-unknown"],
      ["wrong default namespace", "", "invalid-namespace"],
      ["old stream version", "", "unsupported-version"],
    ];
    for (const [name, bytes, condition] of cases) {
      await t.step(name, async () => {
        let header = HEADER;
        if (name === "unknown host") header = HEADER.replace("to='localhost'", "to='evil.example'");
        if (name === "no to") header = HEADER.replace(" to='localhost'", "");
        if (name === "wrong default namespace") {
          header = HEADER.replace("jabber:client", "jabber:server");
        }
        if (name === "old stream version") {
          header = HEADER.replace("to='localhost' version='1.0'", "to='localhost'");
        }
        const c = await raw(server, bytes, header);
        assert.equal(await c.streamError(), condition);
        await c.waitClosed();
      });
    }
    await t.step("invalid UTF-8", async () => {
      const c = await raw(server, "");
      await c.stanza((e) => e.name === "stream:features");
      c.socket.write(new Uint8Array([0x3c, 0x6d, 0xff, 0xfe, 0x3e]));
      assert.equal(await c.streamError(), "unsupported-encoding");
    });
    await t.step("oversize stanza", async () => {
      const c = await loggedIn(server, "bob", "builder");
      const big = "x".repeat(300 * 1024);
      c.send(`<message to='alice@localhost'><body>${big}</body></message>`);
      assert.equal(await c.streamError(), "policy-violation");
      await c.waitClosed();
    });
    await t.step("spoofed from", async () => {
      const c = await loggedIn(server, "bob", "builder");
      c.send(
        "<message from='alice@localhost/r' to='alice@localhost/r'><body>fake</body></message>",
      );
      assert.equal(await c.streamError(), "invalid-from");
      await bystander.nothing((e) => e.getChildText("body") === "fake");
    });
    await t.step("wrong password, then too many attempts", async () => {
      const c = await TestClient.connect({ port: server.ports.c2sDirectTls, directTls: true });
      await c.open();
      for (const mech of ["SCRAM-SHA-256", "SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-1"]) {
        const f = await c.auth(mech, "alice", "wrong");
        assert.equal(f.name, "failure");
        assert.ok(f.getChild("not-authorized"), f.toString());
      }
      const f = await c.auth("PLAIN", "alice", "wrong");
      assert.ok(f.getChild("not-authorized"));
      assert.equal(await c.streamError(), "policy-violation");
    });
    await t.step("unknown mechanism and bad base64", async () => {
      const c = await TestClient.connect({ port: server.ports.c2sDirectTls, directTls: true });
      await c.open();
      c.send(`<auth xmlns='${NS.sasl}' mechanism='X-UNKNOWN'/>`);
      assert.ok((await c.stanza((e) => e.name === "failure")).getChild("invalid-mechanism"));
      c.send(`<auth xmlns='${NS.sasl}' mechanism='PLAIN'>!!notbase64</auth>`);
      assert.ok((await c.stanza((e) => e.name === "failure")).getChild("incorrect-encoding"));
      c.send(`<auth xmlns='${NS.sasl}' mechanism='SCRAM-SHA-1'/>`);
      await c.stanza((e) => e.name === "challenge" || e.name === "failure");
      c.send(`<abort xmlns='${NS.sasl}'/>`);
      assert.ok((await c.stanza((e) => e.name === "failure")).getChild("aborted"));
      c.close();
    });
    await stillServing(server, bystander);
  } finally {
    bystander.close();
    await server.stop();
  }
});

Deno.test("PLAIN is refused without TLS unless the config allows it", async () => {
  const server = await startTestServer({ c2s: { allowUnencrypted: true } });
  try {
    const c = await TestClient.connect({ port: server.ports.c2s });
    const features = await c.open();
    assert.ok(features.getChild("starttls", NS.tls));
    assert.equal(features.getChild("starttls", NS.tls)?.getChild("required"), undefined);
    assert.ok(!c.mechanisms().includes("PLAIN"));
    const f = await c.auth("PLAIN", "alice", "wonderland");
    assert.ok(f.getChild("encryption-required"), f.toString());
    assert.equal((await c.auth("SCRAM-SHA-1", "alice", "wonderland")).name, "success");
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("SASL before TLS gets encryption-required when TLS is mandatory", async () => {
  const server = await startTestServer();
  try {
    const c = await TestClient.connect({ port: server.ports.c2s });
    await c.open();
    const f = await c.auth("SCRAM-SHA-1", "alice", "wonderland");
    assert.ok(f.getChild("encryption-required"), f.toString());
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("encryption-required failures count towards the SASL retry limit (RFC 6120 §6.4.5)", async () => {
  const server = await startTestServer();
  try {
    const c = await TestClient.connect({ port: server.ports.c2s });
    await c.open();
    for (let i = 0; i < 4; i++) {
      const f = await c.auth("PLAIN", "alice", "wonderland");
      assert.ok(f.getChild("encryption-required"), f.toString());
    }
    assert.ok((await c.auth("PLAIN", "alice", "wonderland")).getChild("encryption-required"));
    assert.equal(await c.streamError(), "policy-violation");
    await c.waitClosed();
  } finally {
    await server.stop();
  }
});

Deno.test("temporary-auth-failure for a throttled IP counts towards the SASL retry limit", async () => {
  const server = await startTestServer({ auth: { perIp: { maxFailures: 1, windowSeconds: 60 } } });
  try {
    const first = await TestClient.connect({ port: server.ports.c2sDirectTls, directTls: true });
    await first.open();
    assert.ok((await first.auth("PLAIN", "alice", "nope")).getChild("not-authorized"));
    first.close();
    const c = await TestClient.connect({ port: server.ports.c2sDirectTls, directTls: true });
    await c.open();
    for (let i = 0; i < 5; i++) {
      const f = await c.auth("PLAIN", "alice", "wonderland");
      assert.ok(f.getChild("temporary-auth-failure"), f.toString());
    }
    assert.equal(await c.streamError(), "policy-violation");
    await c.waitClosed();
  } finally {
    await server.stop();
  }
});

Deno.test("plaintext sent after <starttls/> is discarded, not parsed as the secured stream", async () => {
  const server = await startTestServer();
  try {
    const c = await TestClient.connect({ port: server.ports.c2s });
    await c.open();
    // An attacker on the wire appends a stream restart and a PLAIN auth to
    // the client's <starttls/>, all in one plaintext segment (the class of
    // CVE-2011-0411). None of it may act inside the TLS layer.
    const plain = btoa("\0alice\0wonderland");
    await c.starttls(HEADER + `<auth xmlns='${NS.sasl}' mechanism='PLAIN'>${plain}</auth>`);
    const before = c.frames.length;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(c.frames.length, before, "the server answered injected plaintext");
    // The real client then opens its stream over TLS: not authenticated.
    const features = await c.open();
    assert.ok(features.getChild("mechanisms", NS.sasl), features.toString());
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("a partial UTF-8 sequence injected after <starttls/> is not glued onto the TLS stream", async () => {
  const server = await startTestServer();
  try {
    const c = await TestClient.connect({ port: server.ports.c2s });
    await c.open();
    // The first two bytes of "€": the decoder would keep them for the next chunk.
    await c.starttls(new Uint8Array([0xe2, 0x82]));
    const features = await c.open();
    assert.ok(features.getChild("mechanisms", NS.sasl), features.toString());
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("failed-auth throttling per IP", async () => {
  const server = await startTestServer({ auth: { perIp: { maxFailures: 2, windowSeconds: 60 } } });
  try {
    for (let i = 0; i < 2; i++) {
      const c = await TestClient.connect({ port: server.ports.c2sDirectTls, directTls: true });
      await c.open();
      assert.ok((await c.auth("PLAIN", "alice", "nope")).getChild("not-authorized"));
      c.close();
    }
    const c = await TestClient.connect({ port: server.ports.c2sDirectTls, directTls: true });
    await c.open();
    const f = await c.auth("PLAIN", "alice", "wonderland");
    assert.ok(f.getChild("temporary-auth-failure"), f.toString());
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("failed-auth throttling per account: that account is refused from any connection, others are not", async () => {
  const server = await startTestServer({
    auth: { perAccount: { maxFailures: 2, windowSeconds: 60 } },
  });
  const direct = async () => {
    const c = await TestClient.connect({ port: server.ports.c2sDirectTls, directTls: true });
    await c.open();
    return c;
  };
  try {
    const c = await direct();
    for (let i = 0; i < 2; i++) {
      assert.ok((await c.auth("SCRAM-SHA-1", "alice", "nope")).getChild("not-authorized"));
    }
    // The right password no longer helps, on this connection or a new one.
    const f = await c.auth("SCRAM-SHA-1", "alice", "wonderland");
    assert.ok(f.getChild("temporary-auth-failure"), f.toString());
    c.close();
    const d = await direct();
    const g = await d.auth("PLAIN", "alice", "wonderland");
    assert.ok(g.getChild("temporary-auth-failure"), g.toString());
    // Another account from the same IP is not affected (per-IP allows 10).
    assert.equal((await d.auth("PLAIN", "bob", "builder")).name, "success");
    d.close();
  } finally {
    await server.stop();
  }
});

Deno.test("connections per IP are limited", async () => {
  const server = await startTestServer({ c2s: { maxConnectionsPerIp: 2 } });
  try {
    const a = await TestClient.connect({ port: server.ports.c2s });
    const b = await TestClient.connect({ port: server.ports.c2s });
    const c = await TestClient.connect({ port: server.ports.c2s });
    await c.waitClosed();
    await a.open();
    a.close();
    b.close();
  } finally {
    await server.stop();
  }
});

Deno.test("shutdown closes streams with system-shutdown", async () => {
  const server = await startTestServer();
  const a = await loggedIn(server);
  await server.stop();
  assert.equal(await a.streamError(), "system-shutdown");
  await a.waitClosed();
});

Deno.test("the read rate limit stops reading a flooding connection, losing nothing", async () => {
  const server = await startTestServer({
    c2s: { readRateBytesPerSecond: 4096, readBurstBytes: 4096 },
  });
  try {
    const a = await loggedIn(server);
    const b = await loggedIn(server, "bob", "builder");
    // ~12 KB against a 4 KB burst: what was read is delivered, in order,
    // and the 8 KB overdraft stops reading for about two seconds.
    const body = "y".repeat(1000);
    for (let i = 0; i < 12; i++) {
      b.send(`<message to='alice@localhost/r' id='f${i}'><body>${body}</body></message>`);
    }
    await a.stanza((e) => e.attrs.id === "f11", 10_000);
    const order = a.frames.flatMap((f) =>
      f.kind === "stanza" && f.element.name === "message" ? [f.element.attrs.id] : []
    );
    assert.deepEqual(order, ["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10"]);
    b.send("<message to='alice@localhost/r' id='late'><body>after the pause</body></message>");
    await a.nothing((e) => e.attrs.id === "late", 300);
    await a.stanza((e) => e.attrs.id === "late", 10_000);
    a.close();
    b.close();
  } finally {
    await server.stop();
  }
});
