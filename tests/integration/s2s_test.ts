/**
 * Federation between two Parley instances on 127.0.0.1 (a.test and
 * b.test), routed to each other's s2s port through `s2s.hosts` (read at
 * connect time, so it is filled once both listen). Their certificates are
 * self-signed, so the servers authenticate each other with dialback.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { errorCondition } from "../helpers/client.ts";
import { loginAt as login, serverPair as pair } from "../helpers/federation.ts";
import { startTestServer } from "../helpers/server.ts";
import { fakeHeader, FakeS2sServer, S2sPeer } from "../helpers/s2s_peer.ts";
import { generateSelfSigned } from "../../src/tls/selfsigned.ts";

const ROSTER = "jabber:iq:roster";

/** A port that was just free and is closed again. */
function closedPort(): Promise<number> {
  return new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

Deno.test("s2s: messages cross between two servers both ways (dialback)", async () => {
  const [a, b] = await pair();
  const alice = await login(a, "alice", "wonderland", "a.test");
  const bob = await login(b, "bob", "builder", "b.test");
  try {
    alice.send(`<message to='bob@b.test/r' type='chat' id='m1'><body>hello b</body></message>`);
    const got = await bob.stanza((e) => e.name === "message" && e.attrs.id === "m1");
    assert.equal(got.attrs.from, "alice@a.test/r");
    assert.equal(got.getChildText("body"), "hello b");

    bob.send(`<message to='alice@a.test' type='chat' id='m2'><body>hello a</body></message>`);
    const back = await alice.stanza((e) => e.name === "message" && e.attrs.id === "m2");
    assert.equal(back.attrs.from, "bob@b.test/r");

    // Several in a row keep their order on the stream.
    for (let i = 0; i < 5; i++) {
      alice.send(`<message to='bob@b.test' type='chat' id='o${i}'><body>${i}</body></message>`);
    }
    for (let i = 0; i < 5; i++) {
      const m = await bob.stanza((e) => e.name === "message" && e.attrs.id?.startsWith("o"));
      assert.equal(m.attrs.id, `o${i}`);
    }
    // One outgoing stream per pair, authenticated.
    assert.equal(a.s2s!.manager.outgoing("a.test", "b.test")?.ready, true);
    assert.equal(b.s2s!.manager.outgoing("b.test", "a.test")?.ready, true);
  } finally {
    alice.close();
    bob.close();
    await a.stop();
    await b.stop();
  }
});

Deno.test("s2s: iq across servers gets its result", async () => {
  const [a, b] = await pair();
  const alice = await login(a, "alice", "wonderland", "a.test");
  try {
    alice.send(`<iq to='b.test' type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>`);
    const r = await alice.stanza((e) => e.name === "iq" && e.attrs.id === "p1");
    assert.equal(r.attrs.type, "result");
    assert.equal(r.attrs.from, "b.test");
  } finally {
    alice.close();
    await a.stop();
    await b.stop();
  }
});

Deno.test("s2s: subscription and presence across servers", async () => {
  const [a, b] = await pair();
  const alice = await login(a, "alice", "wonderland", "a.test");
  const bob = await login(b, "bob", "builder", "b.test");
  try {
    alice.send(`<iq type='get' id='r0'><query xmlns='${ROSTER}'/></iq>`);
    await alice.stanza((e) => e.attrs.id === "r0");
    bob.send(`<iq type='get' id='r0'><query xmlns='${ROSTER}'/></iq>`);
    await bob.stanza((e) => e.attrs.id === "r0");

    alice.send(`<presence to='bob@b.test' type='subscribe'/>`);
    const request = await bob.stanza((e) => e.name === "presence" && e.attrs.type === "subscribe");
    assert.equal(request.attrs.from, "alice@a.test");
    bob.send(`<presence to='alice@a.test' type='subscribed'/>`);
    const approved = await alice.stanza((e) =>
      e.name === "presence" && e.attrs.type === "subscribed"
    );
    assert.equal(approved.attrs.from, "bob@b.test");
    // Bob's current presence follows the approval (RFC 6121 §3.1.5).
    const presence = await alice.stanza((e) =>
      e.name === "presence" && e.attrs.type === undefined && e.attrs.from === "bob@b.test/r"
    );
    assert.ok(presence);

    // Alice's roster now has bob with subscription "to".
    alice.send(`<iq type='get' id='r1'><query xmlns='${ROSTER}'/></iq>`);
    const roster = await alice.stanza((e) => e.attrs.id === "r1");
    const item = roster.getChild("query", ROSTER)?.getChildren("item")
      .find((i) => i.attrs.jid === "bob@b.test");
    assert.equal(item?.attrs.subscription, "to");

    // A presence change reaches the subscriber on the other server.
    bob.send(`<presence><show>away</show></presence>`);
    const away = await alice.stanza((e) =>
      e.name === "presence" && e.attrs.from === "bob@b.test/r" && e.getChildText("show") === "away"
    );
    assert.ok(away);
  } finally {
    alice.close();
    bob.close();
    await a.stop();
    await b.stop();
  }
});

Deno.test("s2s: no route (closed port) bounces remote-server-not-found", async () => {
  const a = await startTestServer({ hosts: ["a.test"] });
  a.config.s2s.hosts["nowhere.test"] = `127.0.0.1:${await closedPort()}`;
  const alice = await login(a, "alice", "wonderland", "a.test");
  try {
    alice.send(`<message to='x@nowhere.test' type='chat' id='lost'><body>?</body></message>`);
    const bounce = await alice.stanza((e) => e.attrs.id === "lost");
    assert.equal(bounce.attrs.type, "error");
    assert.equal(bounce.attrs.from, "x@nowhere.test");
    assert.equal(errorCondition(bounce), "remote-server-not-found");
  } finally {
    alice.close();
    await a.stop();
  }
});

Deno.test("s2s: an undeliverable iq result is not answered with an error (RFC 6120 §8.2.3)", async () => {
  const a = await startTestServer({ hosts: ["a.test"] });
  a.config.s2s.hosts["nowhere.test"] = `127.0.0.1:${await closedPort()}`;
  const alice = await login(a, "alice", "wonderland", "a.test");
  try {
    alice.send(`<iq to='x@nowhere.test' type='result' id='res'/>`);
    alice.send(`<message to='x@nowhere.test' type='chat' id='after'><body>?</body></message>`);
    // Both wait in the same queue: the message's bounce comes after any for the iq.
    const bounce = await alice.stanza((e) => e.attrs.id === "after");
    assert.equal(errorCondition(bounce), "remote-server-not-found");
    await alice.nothing((e) => e.attrs.id === "res", 200);
  } finally {
    alice.close();
    await a.stop();
  }
});

Deno.test("s2s: a peer that never answers bounces remote-server-timeout", async () => {
  const a = await startTestServer({ hosts: ["a.test"], s2s: { connectTimeoutSeconds: 1 } });
  // Accepts TCP and says nothing.
  const sockets: net.Socket[] = [];
  const mute = net.createServer((s) => sockets.push(s));
  await new Promise<void>((r) => mute.listen(0, "127.0.0.1", () => r()));
  a.config.s2s.hosts["mute.test"] = `127.0.0.1:${(mute.address() as net.AddressInfo).port}`;
  const alice = await login(a, "alice", "wonderland", "a.test");
  try {
    alice.send(`<message to='x@mute.test' type='chat' id='slow'><body>?</body></message>`);
    const bounce = await alice.stanza((e) => e.attrs.id === "slow");
    assert.equal(errorCondition(bounce), "remote-server-timeout");
  } finally {
    alice.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => mute.close(r));
    await a.stop();
  }
});

Deno.test("s2s: at shutdown, stanzas queued for a stream still connecting are bounced first", async () => {
  const a = await startTestServer({ hosts: ["a.test"] });
  const sockets: net.Socket[] = [];
  const mute = net.createServer((s) => sockets.push(s));
  await new Promise<void>((r) => mute.listen(0, "127.0.0.1", () => r()));
  a.config.s2s.hosts["mute.test"] = `127.0.0.1:${(mute.address() as net.AddressInfo).port}`;
  const alice = await login(a, "alice", "wonderland", "a.test");
  try {
    alice.send(`<message to='x@mute.test' type='chat' id='queued'><body>?</body></message>`);
    // The stream to mute.test is connecting (TCP accepted, no answer) when the server stops.
    for (let i = 0; i < 500 && sockets.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await a.stop();
    const bounce = await alice.stanza((e) => e.attrs.id === "queued");
    assert.equal(errorCondition(bounce), "remote-server-timeout");
    assert.equal(await alice.streamError(), "system-shutdown");
  } finally {
    alice.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => mute.close(r));
  }
});

Deno.test("s2s: a peer spoofing from is refused with invalid-from", async () => {
  const [a, b] = await pair();
  const bob = await login(b, "bob", "builder", "b.test");
  // Plays a.test's outgoing stream: authenticates by dialback with a key a.test made.
  const peer = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test");
  try {
    await peer.dialback((id) => a.s2s!.manager.keys.generate("b.test", "a.test", id));
    peer.send(`<message from='alice@a.test/x' to='bob@b.test/r' id='ok'><body>1</body></message>`);
    await bob.stanza((e) => e.attrs.id === "ok");
    peer.send(
      `<message from='mallory@evil.test' to='bob@b.test/r' id='bad'><body>2</body></message>`,
    );
    assert.equal(await peer.streamError(), "invalid-from");
    await bob.nothing((e) => e.attrs.id === "bad", 200);
  } finally {
    peer.close();
    bob.close();
    await a.stop();
    await b.stop();
  }
});

Deno.test("s2s: an invalid iq from a peer gets bad-request back, like a client's", async () => {
  const [a, b] = await pair();
  const alice = await login(a, "alice", "wonderland", "a.test");
  const bob = await login(b, "bob", "builder", "b.test");
  const peer = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test");
  try {
    await peer.dialback((id) => a.s2s!.manager.keys.generate("b.test", "a.test", id));
    // Two payloads in a get, and a type iq does not have: RFC 6120 §8.2.3.
    peer.send(
      `<iq type='get' id='two' from='alice@a.test/r' to='bob@b.test/r'>` +
        `<query xmlns='jabber:iq:version'/><ping xmlns='urn:xmpp:ping'/></iq>`,
    );
    peer.send(`<iq type='bogus' id='odd' from='alice@a.test/r' to='bob@b.test/r'/>`);
    for (const id of ["two", "odd"]) {
      // The error travels back over b.test's own stream to a.test.
      const reply = await alice.stanza((e) => e.attrs.id === id);
      assert.equal(reply.attrs.type, "error");
      assert.equal(errorCondition(reply), "bad-request");
    }
    await bob.nothing((e) => e.name === "iq", 200);
  } finally {
    peer.close();
    alice.close();
    bob.close();
    await a.stop();
    await b.stop();
  }
});

Deno.test("s2s: dialback with a wrong key is refused", async () => {
  const [a, b] = await pair();
  const peer = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test");
  try {
    const result = await peer.dialbackResult(() => "0".repeat(64));
    assert.equal(result.attrs.type, "invalid");
    peer.send(`<message from='alice@a.test' to='bob@b.test' id='x'/>`);
    assert.equal(await peer.streamError(), "not-authorized");
  } finally {
    peer.close();
    await a.stop();
    await b.stop();
  }
});

Deno.test("s2s: requireValidCertificates refuses a self-signed peer", async () => {
  const [a, b] = await pair({}, { s2s: { requireValidCertificates: true } });
  const alice = await login(a, "alice", "wonderland", "a.test");
  try {
    alice.send(`<message to='bob@b.test' type='chat' id='nocert'><body>?</body></message>`);
    const bounce = await alice.stanza((e) => e.attrs.id === "nocert");
    assert.equal(bounce.attrs.type, "error");
    assert.equal(errorCondition(bounce), "remote-server-not-found");
    // The raw view: b.test closes the stream with policy-violation after TLS.
    const peer = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test", { openAfterTls: false });
    try {
      await peer.starttls();
      peer.open();
      assert.equal(await peer.streamError(), "policy-violation");
    } finally {
      peer.close();
    }
  } finally {
    alice.close();
    await a.stop();
    await b.stop();
  }
});

Deno.test("s2s: stream header to a domain we do not host gets host-unknown", async () => {
  const b = await startTestServer({ hosts: ["b.test"] });
  const peer = await S2sPeer.connect(b.ports.s2s, "a.test", "c.test", { openAfterTls: false });
  try {
    assert.equal(await peer.streamError(), "host-unknown");
  } finally {
    peer.close();
    await b.stop();
  }
});

Deno.test("s2s: certificates trusted through s2s.caFile authenticate with SASL EXTERNAL", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-s2s-ca-" });
  const files: Record<string, { certificate: string; key: string }> = {};
  let bundle = "";
  for (const domain of ["a.test", "b.test"]) {
    const pair = await generateSelfSigned([domain]);
    files[domain] = { certificate: `${dir}/${domain}.crt`, key: `${dir}/${domain}.key` };
    await Deno.writeTextFile(files[domain].certificate, pair.certPem);
    await Deno.writeTextFile(files[domain].key, pair.keyPem);
    bundle += pair.certPem;
  }
  await Deno.writeTextFile(`${dir}/ca.pem`, bundle);
  // Dialback off on both sides: only certificates can authenticate.
  const s2s = { caFile: `${dir}/ca.pem`, allowDialback: false, requireValidCertificates: true };
  const [a, b] = await pair(
    { tls: files["a.test"], s2s },
    { tls: files["b.test"], s2s },
  );
  const alice = await login(a, "alice", "wonderland", "a.test");
  const bob = await login(b, "bob", "builder", "b.test");
  try {
    alice.send(`<message to='bob@b.test/r' type='chat' id='ext1'><body>x</body></message>`);
    await bob.stanza((e) => e.attrs.id === "ext1");
    bob.send(`<message to='alice@a.test/r' type='chat' id='ext2'><body>y</body></message>`);
    await alice.stanza((e) => e.attrs.id === "ext2");
    // A peer whose certificate is not in the bundle gets no EXTERNAL and no dialback.
    const peer = await S2sPeer.connect(b.ports.s2s, "c.test", "b.test", { openAfterTls: false });
    try {
      await peer.starttls();
      peer.open();
      assert.equal(await peer.streamError(), "policy-violation");
    } finally {
      peer.close();
    }
  } finally {
    alice.close();
    bob.close();
    await a.stop();
    await b.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("s2s: a second hosted domain joins the live stream to the same remote (piggybacking)", async () => {
  const a = await startTestServer({ hosts: ["a.test", "a2.test"] });
  const b = await startTestServer({ hosts: ["b.test"] });
  a.config.s2s.hosts["b.test"] = `127.0.0.1:${b.ports.s2s}`;
  b.config.s2s.hosts["a.test"] = `127.0.0.1:${a.ports.s2s}`;
  b.config.s2s.hosts["a2.test"] = `127.0.0.1:${a.ports.s2s}`;
  const alice = await login(a, "alice", "wonderland", "a.test");
  const alice2 = await login(a, "alice", "wonderland", "a2.test");
  const bob = await login(b, "bob", "builder", "b.test");
  try {
    alice.send(`<message to='bob@b.test/r' type='chat' id='p1'><body>1</body></message>`);
    await bob.stanza((e) => e.attrs.id === "p1");
    const stream = a.s2s!.manager.outgoing("a.test", "b.test");
    assert.equal(stream?.ready, true);
    // a2.test has no stream of its own: it authenticates on a.test's with a db:result.
    alice2.send(`<message to='bob@b.test/r' type='chat' id='p2'><body>2</body></message>`);
    const got = await bob.stanza((e) => e.attrs.id === "p2");
    assert.equal(got.attrs.from, "alice@a2.test/r");
    assert.equal(a.s2s!.manager.outgoing("a2.test", "b.test"), stream);
    assert.deepEqual(stream!.domains, ["a.test", "a2.test"]);
    assert.equal(b.s2s!.manager.incoming.size, 1);
    // Later stanzas from both go the same way, and answers come back.
    alice2.send(`<message to='bob@b.test/r' type='chat' id='p3'><body>3</body></message>`);
    await bob.stanza((e) => e.attrs.id === "p3");
    bob.send(`<message to='alice@a2.test/r' type='chat' id='p4'><body>4</body></message>`);
    await alice2.stanza((e) => e.attrs.id === "p4");
  } finally {
    alice.close();
    alice2.close();
    bob.close();
    await a.stop();
    await b.stop();
  }
});

Deno.test("s2s: a domain refused on a shared stream gets a stream of its own", async () => {
  const a = await startTestServer({
    hosts: ["a.test", "a2.test"],
    s2s: { requireEncryption: false },
  });
  // Accepts each domain's key, except a2.test's on the first connection.
  let first: unknown;
  const fake = await FakeS2sServer.start((text, s) => {
    first ??= s;
    if (text.includes("<stream:stream")) s.write(fakeHeader("fb.test", "f1", null));
    for (const [, from] of text.matchAll(/<db:result from='([^']+)'/g)) {
      const type = from === "a2.test" && s === first ? "invalid" : "valid";
      s.write(`<db:result from='fb.test' to='${from}' type='${type}'/>`);
    }
  });
  a.config.s2s.hosts["fb.test"] = fake.route;
  const alice = await login(a, "alice", "wonderland", "a.test");
  const alice2 = await login(a, "alice", "wonderland", "a2.test");
  try {
    alice.send(`<message to='x@fb.test' id='f1'><body>1</body></message>`);
    await fake.until((r) => r.includes("id='f1'"));
    alice2.send(`<message to='x@fb.test' id='f2'><body>2</body></message>`);
    await fake.until((r) => r.includes("id='f2'"));
    assert.equal(fake.sockets.length, 2);
    assert.equal(fake.received.split("<db:result from='a2.test'").length - 1, 2);
    await alice2.nothing((e) => e.attrs.id === "f2", 200);
  } finally {
    alice.close();
    alice2.close();
    await fake.close();
    await a.stop();
  }
});

Deno.test("s2s: a domain whose db:result goes unanswered on a shared stream gets a stream of its own", async () => {
  const a = await startTestServer({
    hosts: ["a.test", "a2.test"],
    s2s: { requireEncryption: false, connectTimeoutSeconds: 1 },
  });
  // Accepts each domain's key, but never answers a2.test's on the first connection.
  let first: unknown;
  const fake = await FakeS2sServer.start((text, s) => {
    first ??= s;
    if (text.includes("<stream:stream")) s.write(fakeHeader("fb.test", "f1", null));
    for (const [, from] of text.matchAll(/<db:result from='([^']+)'/g)) {
      if (from === "a2.test" && s === first) continue;
      s.write(`<db:result from='fb.test' to='${from}' type='valid'/>`);
    }
  });
  a.config.s2s.hosts["fb.test"] = fake.route;
  const alice = await login(a, "alice", "wonderland", "a.test");
  const alice2 = await login(a, "alice", "wonderland", "a2.test");
  try {
    alice.send(`<message to='x@fb.test' id='u1'><body>1</body></message>`);
    await fake.until((r) => r.includes("id='u1'"));
    alice2.send(`<message to='x@fb.test' id='u2'><body>2</body></message>`);
    // After s2s.connectTimeoutSeconds without an answer, a2.test connects on its own.
    await fake.until((r) => r.includes("id='u2'"));
    assert.equal(fake.sockets.length, 2);
    const [shared, own] = fake.sockets.map((s) => fake.receivedOn.get(s)!);
    assert.ok(own.includes("id='u2'"), own);
    assert.ok(!shared.includes("id='u2'"), shared);
    // The shared stream still carries a.test's stanzas.
    alice.send(`<message to='x@fb.test' id='u3'><body>3</body></message>`);
    await fake.until(() => fake.receivedOn.get(fake.sockets[0])!.includes("id='u3'"));
  } finally {
    alice.close();
    alice2.close();
    await fake.close();
    await a.stop();
  }
});

Deno.test("s2s: once a refused domain's own stream closes, it may join the shared stream again", async () => {
  const a = await startTestServer({
    hosts: ["a.test", "a2.test"],
    s2s: { requireEncryption: false },
  });
  // Refuses a2.test on the first connection once, then accepts every key.
  let first: unknown;
  let refused = false;
  const fake = await FakeS2sServer.start((text, s) => {
    first ??= s;
    if (text.includes("<stream:stream")) s.write(fakeHeader("fb.test", "f1", null));
    for (const [, from] of text.matchAll(/<db:result from='([^']+)'/g)) {
      const refuse = from === "a2.test" && s === first && !refused;
      if (refuse) refused = true;
      s.write(`<db:result from='fb.test' to='${from}' type='${refuse ? "invalid" : "valid"}'/>`);
    }
  });
  a.config.s2s.hosts["fb.test"] = fake.route;
  const alice = await login(a, "alice", "wonderland", "a.test");
  const alice2 = await login(a, "alice", "wonderland", "a2.test");
  const on = (i: number) => fake.receivedOn.get(fake.sockets[i]) ?? "";
  try {
    alice.send(`<message to='x@fb.test' id='r1'><body>1</body></message>`);
    await fake.until((r) => r.includes("id='r1'"));
    alice2.send(`<message to='x@fb.test' id='r2'><body>2</body></message>`);
    await fake.until((r) => r.includes("id='r2'"));
    assert.equal(fake.sockets.length, 2);
    assert.ok(on(1).includes("id='r2'"), on(1));
    // The peer ends a2.test's own stream; Parley's closing tag says it is forgotten.
    fake.sockets[1].write("</stream:stream>");
    await fake.until(() => on(1).includes("</stream:stream>"));
    alice2.send(`<message to='x@fb.test' id='r3'><body>3</body></message>`);
    await fake.until((r) => r.includes("id='r3'"));
    // No third connection: a2.test asked again on the shared stream and was taken.
    assert.equal(fake.sockets.length, 2);
    assert.ok(on(0).includes("id='r3'"), on(0));
    assert.equal(on(0).split("<db:result from='a2.test'").length - 1, 2);
  } finally {
    alice.close();
    alice2.close();
    await fake.close();
    await a.stop();
  }
});

Deno.test("s2s: the fake remote server answers an element that TCP split in two", async () => {
  const fake = await FakeS2sServer.start((text, s) => {
    if (text.includes("<db:result from='x.test'")) s.write("<answered/>");
  });
  const [host, port] = fake.route.split(":");
  const socket = net.connect({ host, port: Number(port) });
  let answer = "";
  socket.on("data", (d) => answer += d);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("error", reject);
    });
    socket.write("<db:res");
    await fake.until((r) => r === "<db:res");
    socket.write("ult from='x.test' to='y.test'>k</db:result>");
    await fake.until((r) => r.endsWith("</db:result>"));
    for (let i = 0; i < 500 && answer === ""; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(answer, "<answered/>");
  } finally {
    socket.destroy();
    await fake.close();
  }
});
