/**
 * Hostile remote servers, against a scripted peer (`S2sPeer`): claims of
 * domains a peer cannot own, and what they must not make this server do.
 */
import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";
import { fakeHeader, FakeS2sServer, S2sPeer } from "../helpers/s2s_peer.ts";
import { createTestCa } from "../helpers/test_ca.ts";
import { TrustAnchors } from "../../src/s2s/cert_verify.ts";
import { NS } from "../../src/xml/namespaces.ts";
import { NS_BIDI, NS_BIDI_FEATURE } from "../../src/s2s/common.ts";
import { loginAt, serverPair as pair } from "../helpers/federation.ts";

Deno.test("s2s in: a db:result claiming one of our own domains is refused without connecting to ourselves", async () => {
  const b = await startTestServer({ hosts: ["b.test", "other.test"] });
  const peer = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test");
  try {
    // We are the authoritative server of our own domains: no server but this one could
    // hold a key for them, and asking "their" server would connect this server to itself.
    for (const from of ["b.test", "other.test"]) {
      peer.send(`<db:result from='${from}' to='b.test'>${"0".repeat(64)}</db:result>`);
      const answer = await peer.element((e) => e.name === "result" && e.attrs.to === from);
      assert.equal(answer.attrs.type, "invalid");
      assert.equal(b.s2s!.manager.outgoing("b.test", from), undefined);
    }
    peer.send(`<message from='x@other.test' to='bob@b.test' id='m'/>`);
    // Nothing was authenticated on this stream.
    assert.equal(await peer.streamError(), "not-authorized");
  } finally {
    peer.close();
    await b.stop();
  }
});

Deno.test("s2s out: a dialback 'valid' or SASL success we never asked for skips neither STARTTLS nor the policy", async () => {
  const a = await startTestServer({ hosts: ["a.test"] });
  // Someone on the path answers our header at once with a verdict we never asked for,
  // before any features: nothing was encrypted, nothing authenticated.
  const verdicts = [
    `<db:result from='mitm.test' to='a.test' type='valid'/>`,
    `<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>`,
  ];
  const alice = await loginAt(a, "alice", "wonderland", "a.test");
  try {
    for (const [i, verdict] of verdicts.entries()) {
      const fake = await FakeS2sServer.start((text, s) => {
        if (text.includes("<stream:stream")) s.write(fakeHeader("mitm.test", "m" + i) + verdict);
      });
      a.config.s2s.hosts["mitm.test"] = fake.route;
      try {
        alice.send(`<message to='x@mitm.test' id='m${i}'><body>plaintext secret</body></message>`);
        // The stream fails at once, and the message never went out in the clear.
        const bounce = await alice.stanza((e) => e.attrs.id === `m${i}`);
        assert.equal(bounce.attrs.type, "error");
        assert.ok(!fake.received.includes("plaintext secret"), fake.received);
      } finally {
        await fake.close();
      }
    }
  } finally {
    alice.close();
    await a.stop();
  }
});

Deno.test("s2s: a db:verify answer for a request not yet sent (held for STARTTLS) is not taken", async () => {
  const b = await startTestServer({ hosts: ["b.test"], s2s: { connectTimeoutSeconds: 1 } });
  // victim.test's "server" is someone on the path: before any STARTTLS it says valid to
  // the db:verify it guesses b.test will send (the id is the stream id b.test gave the
  // peer below, which works with it).
  let streamId = "";
  const fake = await FakeS2sServer.start((text, s) => {
    if (text.includes("<stream:stream")) {
      s.write(
        fakeHeader("victim.test", "v1") +
          `<db:verify from='victim.test' to='b.test' id='${streamId}' type='valid'/>`,
      );
    }
  });
  b.config.s2s.hosts["victim.test"] = fake.route;
  const peer = await S2sPeer.connect(b.ports.s2s, "victim.test", "b.test");
  try {
    streamId = peer.streamId ?? "";
    const answer = await peer.dialbackResult(() => "f".repeat(64));
    assert.notEqual(answer.attrs.type, "valid");
    assert.ok(!fake.received.includes("db:verify"), fake.received);
  } finally {
    peer.close();
    await fake.close();
    await b.stop();
  }
});

Deno.test("s2s in: on an authenticated stream, a stanza to a domain we do not host gets host-unknown; one without from, improper-addressing", async () => {
  const [a, b] = await pair();
  const peers: S2sPeer[] = [];
  try {
    for (
      const [stanza, condition] of [
        [`<message from='alice@a.test' to='x@c.test' id='elsewhere'/>`, "host-unknown"],
        [`<message to='bob@b.test' id='anon'/>`, "improper-addressing"],
        [`<message from='alice@a.test' to='@b.test' id='bad'/>`, "improper-addressing"],
      ]
    ) {
      const peer = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test");
      peers.push(peer);
      await peer.dialback((id) => a.s2s!.manager.keys.generate("b.test", "a.test", id));
      peer.send(stanza);
      assert.equal(await peer.streamError(), condition, stanza);
    }
  } finally {
    for (const peer of peers) peer.close();
    await a.stop();
    await b.stop();
  }
});

Deno.test("s2s in: a <bidi/> sent before STARTTLS is forgotten with the rest of the stream (RFC 6120 §5.4.3.3)", async () => {
  const [a, b] = await pair();
  // Anyone on the path could have written it into the cleartext part of the stream.
  const peer = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test", { openAfterTls: false });
  try {
    await peer.features();
    peer.send(`<bidi xmlns='${NS_BIDI}'/>`);
    await peer.starttls();
    peer.open();
    const features = await peer.features();
    assert.ok(features.getChild("bidi", NS_BIDI_FEATURE), "bidi offered again after TLS");
    await peer.dialback((id) => a.s2s!.manager.keys.generate("b.test", "a.test", id));
    assert.equal(b.s2s!.manager.bidiRoute("b.test", "a.test"), undefined);
  } finally {
    peer.close();
    await a.stop();
    await b.stop();
  }
});

Deno.test("s2s in: SASL EXTERNAL failures are retried a few times, then the stream ends (RFC 6120 §6.4.5)", async () => {
  const b = await startTestServer({ hosts: ["b.test"] });
  // Each attempt costs a certificate path search: without a limit, one stream could ask
  // for them as fast as it can write.
  const peer = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test");
  try {
    let failures = 0;
    let error = "";
    for (let i = 0; i < 20 && error === ""; i++) {
      peer.send(`<auth xmlns='${NS.sasl}' mechanism='EXTERNAL'>=</auth>`);
      const answer = await peer.element((e) => e.name === "failure" || e.name === "stream:error");
      if (answer.name === "failure") failures++;
      else error = answer.getChildren()[0]?.name ?? "?";
    }
    assert.ok(failures >= 2 && failures <= 5, `${failures} failures before the end`);
    assert.equal(error, "policy-violation");
  } finally {
    peer.close();
    await b.stop();
  }
});

Deno.test("s2s in: the peer's certificate path is searched once per stream, not once per db:result", async () => {
  const b = await startTestServer({ hosts: ["b.test"] });
  const ca = await createTestCa();
  let checks = 0;
  // Counted signature checks: the expensive part of a path search, which a peer that
  // crafts its chain can make cost many of them.
  const manager = b.s2s!.manager as { anchors: TrustAnchors };
  manager.anchors = new TrustAnchors(ca.certPem, (cert, issuer) => {
    checks++;
    return cert.verify(issuer.publicKey);
  });
  const cert = await ca.issue(["*.peer.test"]);
  const peer = await S2sPeer.connect(b.ports.s2s, "a.peer.test", "b.test", { cert });
  try {
    const before = checks;
    for (let i = 0; i < 20; i++) {
      peer.send(`<db:result from='d${i}.peer.test' to='b.test'>${"0".repeat(64)}</db:result>`);
      const r = await peer.element((e) => e.name === "result" && e.attrs.to === `d${i}.peer.test`);
      assert.equal(r.attrs.type, "valid");
    }
    assert.ok(checks - before <= 1, `${checks - before} signature checks for 20 domains`);
  } finally {
    peer.close();
    await b.stop();
  }
});

Deno.test("s2s in: SASL EXTERNAL for one of our own domains is refused, even with a certificate valid for it", async () => {
  const b = await startTestServer({ hosts: ["b.test"] });
  const bob = await loginAt(b, "bob", "builder", "b.test");
  // Another server holding a certificate for our domain (a wildcard shared across
  // machines, say) must not speak for our own users.
  const ca = await createTestCa();
  (b.s2s!.manager as { anchors: TrustAnchors }).anchors = new TrustAnchors(ca.certPem);
  const cert = await ca.issue(["b.test"]);
  const peer = await S2sPeer.connect(b.ports.s2s, "b.test", "b.test", { cert });
  try {
    peer.send(`<auth xmlns='${NS.sasl}' mechanism='EXTERNAL'>=</auth>`);
    const answer = await peer.element((e) => e.name === "failure" || e.name === "success");
    assert.equal(answer.name, "failure");
    peer.send(`<message from='admin@b.test' to='bob@b.test/r' id='own'><body>hi</body></message>`);
    // A stanza on a stream that never authenticated ends it (RFC 6120 §4.9.3.12).
    assert.equal(await peer.streamError(), "not-authorized");
    await bob.nothing((e) => e.attrs.id === "own", 200);
  } finally {
    peer.close();
    bob.close();
    await b.stop();
  }
});

Deno.test("s2s: outgoing streams are bounded (s2s.maxOutgoingStreams): past it a stanza gets resource-constraint and a dialback check a wait error", async () => {
  const b = await startTestServer({ hosts: ["b.test"], s2s: { maxOutgoingStreams: 2 } });
  // Accepts TCP and never answers: each stream to it stays connecting.
  const silent = await FakeS2sServer.start(() => {});
  for (const d of ["s1.test", "s2.test", "s3.test", "s4.test"]) {
    b.config.s2s.hosts[d] = silent.route;
  }
  const bob = await loginAt(b, "bob", "builder", "b.test");
  // A peer naming ever new domains would otherwise have this server open a stream to each.
  const peer = await S2sPeer.connect(b.ports.s2s, "s4.test", "b.test");
  try {
    bob.send(`<message to='x@s1.test' id='q1'><body>1</body></message>`);
    bob.send(`<message to='x@s2.test' id='q2'><body>2</body></message>`);
    await silent.until(() => silent.sockets.length >= 2);
    bob.send(`<message to='x@s3.test' id='q3'><body>3</body></message>`);
    const bounce = await bob.stanza((e) => e.attrs.id === "q3");
    assert.equal(bounce.attrs.type, "error");
    assert.ok(bounce.getChild("error")?.getChild("resource-constraint", NS.stanzas));
    // The first two still wait for their streams.
    await bob.nothing((e) => e.attrs.id === "q1" || e.attrs.id === "q2", 200);
    const answer = await peer.dialbackResult(() => "0".repeat(64));
    assert.equal(answer.attrs.type, "error");
    assert.ok(
      answer.findChild("error")?.findChild("resource-constraint"),
      answer.toString(),
    );
    assert.equal(b.s2s!.manager.outgoingStreams, 2);
  } finally {
    peer.close();
    bob.close();
    await b.stop();
    await silent.close();
  }
});
