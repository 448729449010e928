/**
 * Federation policy and negotiation edge cases, against a scripted peer
 * (`S2sPeer`, or a fake remote server listening here): stream versions,
 * encryption and certificate policy, authentication time limits, repeated
 * dialback requests.
 */
import assert from "node:assert/strict";
import { configure, type LogRecord } from "@logtape/logtape";
import { errorCondition } from "../helpers/client.ts";
import { loginAt as login, serverPair as pair } from "../helpers/federation.ts";
import { startTestServer } from "../helpers/server.ts";
import { fakeHeader, FakeS2sServer, S2sPeer } from "../helpers/s2s_peer.ts";
import { createTestCa, type PemPair } from "../helpers/test_ca.ts";
import { encodeBase64Text } from "../../src/util/base64.ts";
import { NS } from "../../src/xml/namespaces.ts";
import { NS_DIALBACK_FEATURE } from "../../src/s2s/common.ts";
import type { Element } from "../../src/xml/element.ts";

// The s2s warnings of every server in this file, rendered, to check the remedies logged.
const warnings: string[] = [];
await configure({
  reset: true,
  sinks: {
    capture: (r: LogRecord) => warnings.push(r.message.map((part) => String(part)).join("")),
  },
  loggers: [
    { category: ["parley", "s2s"], lowestLevel: "warning", sinks: ["capture"] },
    { category: ["logtape", "meta"], lowestLevel: "fatal", sinks: [] },
  ],
});

function warningAbout(remote: string): string {
  const line = warnings.find((w) => w.includes(`→ ${remote}`));
  assert.ok(line, `a warning about ${remote} in ${JSON.stringify(warnings)}`);
  return line;
}

Deno.test("s2s in: a peer that sends no version gets none back and no features (RFC 6120 §4.7.5)", async () => {
  const b = await startTestServer({ hosts: ["b.test"] });
  const old = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test", {
    openAfterTls: false,
    version: null,
  });
  const newer = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test", {
    openAfterTls: false,
    version: "1.5",
  });
  try {
    await old.next((f) => f.kind === "open");
    assert.equal(old.header?.version, undefined);
    await old.nothing((e) => e.name === "stream:features", 200);
    // A later version than ours is answered with ours, and features follow.
    await newer.features();
    assert.equal(newer.header?.version, "1.0");
  } finally {
    old.close();
    newer.close();
    await b.stop();
  }
});

Deno.test("s2s in: with encryption required, a plaintext peer must STARTTLS before dialback", async () => {
  const b = await startTestServer({ hosts: ["b.test"] });
  const plain = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test", { openAfterTls: false });
  const old = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test", {
    openAfterTls: false,
    version: null,
  });
  try {
    const features = await plain.features();
    assert.ok(features.getChild("starttls", NS.tls)?.getChild("required"));
    assert.equal(features.getChild("dialback", NS_DIALBACK_FEATURE), undefined);
    assert.equal(features.getChild("mechanisms", NS.sasl), undefined);
    plain.send(`<db:result from='a.test' to='b.test'>${"0".repeat(64)}</db:result>`);
    assert.equal(await plain.streamError(), "policy-violation");
    // A pre-1.0 peer sees no features at all, and is refused the same way.
    await old.next((f) => f.kind === "open");
    old.send(`<db:result from='a.test' to='b.test'>${"0".repeat(64)}</db:result>`);
    assert.equal(await old.streamError(), "policy-violation");
  } finally {
    plain.close();
    old.close();
    await b.stop();
  }
});

Deno.test("s2s out: a peer that sends no stream version cannot skip TLS (encryption required)", async () => {
  const a = await startTestServer({ hosts: ["a.test"] });
  // A pre-1.0 server: no version, so no features and no STARTTLS; it accepts any key.
  const fake = await FakeS2sServer.start((text, s) => {
    if (text.includes("<stream:stream")) s.write(fakeHeader("old.test", "s1", null));
    if (text.includes("<db:result")) {
      s.write(`<db:result from='old.test' to='a.test' type='valid'/>`);
    }
  });
  a.config.s2s.hosts["old.test"] = fake.route;
  const alice = await login(a, "alice", "wonderland", "a.test");
  try {
    alice.send(`<message to='x@old.test' id='secret'><body>plaintext secret</body></message>`);
    const bounce = await alice.stanza((e) => e.attrs.id === "secret");
    assert.equal(errorCondition(bounce), "remote-server-not-found");
    assert.ok(fake.received.includes("<stream:stream"));
    assert.ok(!fake.received.includes("db:result"), fake.received);
    assert.ok(!fake.received.includes("plaintext secret"), fake.received);
    assert.match(warningAbout("old.test"), /does not offer TLS.*s2s\.requireEncryption/);
  } finally {
    alice.close();
    await fake.close();
    await a.stop();
  }
});

Deno.test("s2s out: with encryption not required, a pre-1.0 peer gets dialback, db:verify and stanzas", async () => {
  const b = await startTestServer({ hosts: ["b.test"], s2s: { requireEncryption: false } });
  const fake = await FakeS2sServer.start((text, s) => {
    if (text.includes("<stream:stream")) s.write(fakeHeader("old.test", "s2", null));
    if (text.includes("<db:result")) {
      s.write(`<db:result from='old.test' to='b.test' type='valid'/>`);
    }
    const verify = /<db:verify [^>]*id='([^']+)'/.exec(text);
    if (verify) {
      s.write(`<db:verify from='old.test' to='b.test' id='${verify[1]}' type='valid'/>`);
    }
  });
  b.config.s2s.hosts["old.test"] = fake.route;
  const bob = await login(b, "bob", "builder", "b.test");
  // old.test's own stream to b.test: b.test checks its key over the stream to the fake.
  const peer = await S2sPeer.connect(b.ports.s2s, "old.test", "b.test");
  try {
    const result = await peer.dialbackResult(() => "k".repeat(64));
    assert.equal(result.attrs.type, "valid");
    bob.send(`<message to='x@old.test' id='out1'><body>hi</body></message>`);
    await fake.until((r) => r.includes("id='out1'"));
  } finally {
    peer.close();
    bob.close();
    await fake.close();
    await b.stop();
  }
});

Deno.test("s2s out: a peer whose header says version 0.9 is pre-1.0: no features awaited", async () => {
  const b = await startTestServer({ hosts: ["b.test"], s2s: { requireEncryption: false } });
  const fake = await FakeS2sServer.start((text, s) => {
    if (text.includes("<stream:stream")) s.write(fakeHeader("old.test", "s9", "0.9"));
    if (text.includes("<db:result")) {
      s.write(`<db:result from='old.test' to='b.test' type='valid'/>`);
    }
  });
  b.config.s2s.hosts["old.test"] = fake.route;
  const bob = await login(b, "bob", "builder", "b.test");
  try {
    bob.send(`<message to='x@old.test' id='o9'><body>hi</body></message>`);
    await fake.until((r) => r.includes("id='o9'"));
  } finally {
    bob.close();
    await fake.close();
    await b.stop();
  }
});

Deno.test("s2s out: a certificate refused by requireValidCertificates logs a certificate remedy", async () => {
  const [a, b] = await pair({ s2s: { requireValidCertificates: true } });
  const alice = await login(a, "alice", "wonderland", "a.test");
  try {
    alice.send(`<message to='bob@b.test' id='c1'><body>?</body></message>`);
    const bounce = await alice.stanza((e) => e.attrs.id === "c1");
    assert.equal(errorCondition(bounce), "remote-server-not-found");
    const line = warningAbout("b.test");
    assert.match(line, /self-signed certificate/);
    assert.match(line, /s2s\.caFile/);
    assert.doesNotMatch(line, /SRV/);
  } finally {
    alice.close();
    await a.stop();
    await b.stop();
  }
});

Deno.test("s2s out: a peer's stream error is logged with its condition, not a DNS remedy", async () => {
  const a = await startTestServer({ hosts: ["a.test"] });
  const fake = await FakeS2sServer.start((text, s) => {
    if (text.includes("<stream:stream")) {
      s.write(
        fakeHeader("grumpy.test", "s3") +
          `<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>` +
          `</stream:error></stream:stream>`,
      );
    }
  });
  a.config.s2s.hosts["grumpy.test"] = fake.route;
  const alice = await login(a, "alice", "wonderland", "a.test");
  try {
    alice.send(`<message to='x@grumpy.test' id='g1'><body>?</body></message>`);
    const bounce = await alice.stanza((e) => e.attrs.id === "g1");
    assert.equal(errorCondition(bounce), "remote-server-not-found");
    const line = warningAbout("grumpy.test");
    assert.match(line, /closed the stream with <host-unknown\/>/);
    assert.doesNotMatch(line, /SRV/);
  } finally {
    alice.close();
    await fake.close();
    await a.stop();
  }
});

Deno.test("s2s in: a stream that authenticates no domain in time is closed, whitespace or not", async () => {
  const b = await startTestServer({
    hosts: ["b.test"],
    c2s: { authTimeoutSeconds: 1 },
    s2s: { authTimeoutSeconds: 1 },
  });
  const peer = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test");
  // Keepalives reset the idle timer, not the authentication deadline.
  const keepalive = setInterval(() => peer.send(" "), 200);
  try {
    assert.equal(await peer.streamError(), "connection-timeout");
  } finally {
    clearInterval(keepalive);
    peer.close();
    await b.stop();
  }
});

Deno.test("s2s: a db:verify the authoritative server never answers ends in a dialback error", async () => {
  const b = await startTestServer({
    hosts: ["b.test"],
    s2s: { requireEncryption: false, connectTimeoutSeconds: 1 },
  });
  // Authenticates b.test's stream to it, then ignores db:verify.
  const fake = await FakeS2sServer.start((text, s) => {
    if (text.includes("<stream:stream")) s.write(fakeHeader("mute.test", "s4", null));
    if (text.includes("<db:result")) {
      s.write(`<db:result from='mute.test' to='b.test' type='valid'/>`);
    }
  });
  b.config.s2s.hosts["mute.test"] = fake.route;
  const peer = await S2sPeer.connect(b.ports.s2s, "mute.test", "b.test");
  try {
    const result = await peer.dialbackResult(() => "k".repeat(64));
    assert.equal(result.attrs.type, "error");
    assert.ok(fake.received.includes("<db:verify"));
  } finally {
    peer.close();
    await fake.close();
    await b.stop();
  }
});

/**
 * A fake authoritative server for any domain routed to it (pre-1.0, in the
 * clear): it takes Parley's own db:result at once and answers each
 * db:verify with valid, those for a domain in `hold` only at `release()`.
 */
async function authoritative(hold: string[]) {
  const held: (() => void)[] = [];
  const fake = await FakeS2sServer.start((text, s) => {
    const to = /<stream:stream [^>]*\bto='([^']+)'/.exec(text)?.[1];
    if (to) s.write(fakeHeader(to, "auth-" + to, null));
    for (const [, from, to] of text.matchAll(/<db:result from='([^']+)' to='([^']+)'/g)) {
      s.write(`<db:result from='${to}' to='${from}' type='valid'/>`);
    }
    for (const m of text.matchAll(/<db:verify from='([^']+)' to='([^']+)' id='([^']+)'/g)) {
      const [, from, to, id] = m;
      const answer = () =>
        s.write(`<db:verify from='${to}' to='${from}' id='${id}' type='valid'/>`);
      if (hold.includes(to)) held.push(answer);
      else answer();
    }
  });
  return { fake, release: () => held.splice(0).forEach((answer) => answer()) };
}

Deno.test("s2s in: a repeated db:result is answered again, pending or verified", async () => {
  const b = await startTestServer({ hosts: ["b.test"], s2s: { requireEncryption: false } });
  const auth = await authoritative(["slow.test"]);
  b.config.s2s.hosts["slow.test"] = auth.fake.route;
  const peer = await S2sPeer.connect(b.ports.s2s, "slow.test", "b.test");
  try {
    const request = `<db:result from='slow.test' to='b.test'>${"k".repeat(64)}</db:result>`;
    peer.send(request);
    await auth.fake.until((r) => r.includes("<db:verify"));
    // slow.test's server holds its answer: the repeat arrives while the first is pending.
    // b.test answers a db:verify sent after it at once (it is authoritative for its own
    // keys), which shows it has read the repeat.
    peer.send(request + `<db:verify from='slow.test' to='b.test' id='probe'>0</db:verify>`);
    await peer.element((e) => e.name === "verify" && e.attrs.id === "probe");
    await peer.nothing(dbAnswer, 0);
    auth.release();
    for (let i = 0; i < 2; i++) {
      const r = await peer.element(dbAnswer);
      assert.equal(r.attrs.type, "valid");
    }
    // Both were settled by one question to slow.test's server.
    assert.equal(auth.fake.received.split("<db:verify").length - 1, 1);
    peer.send(request);
    const again = await peer.element(dbAnswer);
    assert.equal(again.attrs.type, "valid");
  } finally {
    peer.close();
    await auth.fake.close();
    await b.stop();
  }
});

Deno.test("s2s in: stanzas on a stream go on while another domain's db:result is being checked", async () => {
  const b = await startTestServer({ hosts: ["b.test"], s2s: { requireEncryption: false } });
  const auth = await authoritative(["slow.test"]);
  b.config.s2s.hosts["fast.test"] = auth.fake.route;
  b.config.s2s.hosts["slow.test"] = auth.fake.route;
  const bob = await login(b, "bob", "builder", "b.test");
  const peer = await S2sPeer.connect(b.ports.s2s, "fast.test", "b.test");
  try {
    await peer.dialback(() => "k".repeat(64));
    // slow.test joins the stream; its server keeps b.test waiting for the verdict.
    peer.send(`<db:result from='slow.test' to='b.test'>${"k".repeat(64)}</db:result>`);
    await auth.fake.until((r) => r.includes("<db:verify from='b.test' to='slow.test'"));
    peer.send(`<message from='x@fast.test' to='bob@b.test/r' id='during'><body>1</body></message>`);
    const got = await bob.stanza((e) => e.attrs.id === "during");
    assert.equal(got.attrs.from, "x@fast.test");
    await peer.nothing(dbAnswer, 0);
    auth.release();
    const answer = await peer.element(dbAnswer);
    assert.deepEqual([answer.attrs.to, answer.attrs.type], ["slow.test", "valid"]);
  } finally {
    peer.close();
    bob.close();
    await auth.fake.close();
    await b.stop();
  }
});

Deno.test("s2s in: one stream has at most 8 distinct db:result checks pending; more get a wait error", async () => {
  const b = await startTestServer({ hosts: ["b.test"], s2s: { requireEncryption: false } });
  const names = Array.from({ length: 10 }, (_, i) => `x${i}.test`);
  const auth = await authoritative(names);
  for (const name of names) b.config.s2s.hosts[name] = auth.fake.route;
  const peer = await S2sPeer.connect(b.ports.s2s, "x0.test", "b.test");
  try {
    peer.send(
      names.map((n) => `<db:result from='${n}' to='b.test'>${"k".repeat(64)}</db:result>`)
        .join(""),
    );
    // The two beyond the cap are answered at once, with no stream opened for them.
    for (const n of names.slice(8)) {
      const r = await peer.element((e) => dbAnswer(e) && e.attrs.to === n);
      assert.equal(r.attrs.type, "error");
      const error = r.findChild("error");
      assert.equal(error?.attrs.type, "wait");
      assert.ok(error?.getChild("resource-constraint", NS.stanzas));
    }
    await auth.fake.until((r) => r.split("<db:verify").length - 1 === 8);
    assert.ok(!/to='x[89]\.test'/.test(auth.fake.received));
    // A repeat of a pending pair joins its check rather than being refused.
    // (b.test answers the db:verify after it at once, which shows it has read the repeat.)
    peer.send(
      `<db:result from='x0.test' to='b.test'>${"k".repeat(64)}</db:result>` +
        `<db:verify from='x0.test' to='b.test' id='probe'>0</db:verify>`,
    );
    await peer.element((e) => e.name === "verify" && e.attrs.id === "probe");
    await peer.nothing(dbAnswer, 0);
    auth.release();
    const valid = new Set<string>();
    for (let i = 0; i < 9; i++) {
      const r = await peer.element(dbAnswer);
      assert.equal(r.attrs.type, "valid");
      valid.add(r.attrs.to);
    }
    assert.equal(valid.size, 8);
    // Settled checks free their places.
    peer.send(`<db:result from='x9.test' to='b.test'>${"k".repeat(64)}</db:result>`);
    await auth.fake.until((r) => r.includes("<db:verify from='b.test' to='x9.test'"));
    auth.release();
    const last = await peer.element((e) => dbAnswer(e) && e.attrs.to === "x9.test");
    assert.equal(last.attrs.type, "valid");
  } finally {
    peer.close();
    await auth.fake.close();
    await b.stop();
  }
});

Deno.test("s2s in: dialback checks pending over all streams are capped (s2s.maxPendingDialbackChecks); more get a wait error", async () => {
  const b = await startTestServer({
    hosts: ["b.test"],
    s2s: { requireEncryption: false, maxPendingDialbackChecks: 3 },
  });
  const names = ["g0.test", "g1.test", "g2.test", "g3.test"];
  const auth = await authoritative(names);
  for (const name of names) b.config.s2s.hosts[name] = auth.fake.route;
  const request = (n: string) => `<db:result from='${n}' to='b.test'>${"k".repeat(64)}</db:result>`;
  const verifies = (r: string) => r.split("<db:verify").length - 1;
  // Two streams (as from two peers), each far below its own cap of 8.
  const first = await S2sPeer.connect(b.ports.s2s, "g0.test", "b.test");
  const second = await S2sPeer.connect(b.ports.s2s, "g2.test", "b.test");
  try {
    first.send(request("g0.test") + request("g1.test"));
    await auth.fake.until((r) => verifies(r) === 2);
    second.send(request("g2.test") + request("g3.test"));
    // g2 takes the last place; g3 is refused at once, with no stream opened for it.
    const refused = await second.element((e) => dbAnswer(e) && e.attrs.to === "g3.test");
    assert.equal(refused.attrs.type, "error");
    const error = refused.findChild("error");
    assert.equal(error?.attrs.type, "wait");
    assert.ok(error?.getChild("resource-constraint", NS.stanzas));
    await auth.fake.until((r) => verifies(r) === 3);
    assert.ok(!auth.fake.received.includes("to='g3.test'"));
    auth.release();
    for (
      const [peer, n] of [[first, "g0.test"], [first, "g1.test"], [second, "g2.test"]] as const
    ) {
      const r = await peer.element((e) => dbAnswer(e) && e.attrs.to === n);
      assert.equal(r.attrs.type, "valid");
    }
    // Settled checks free their places.
    second.send(request("g3.test"));
    await auth.fake.until((r) => r.includes("<db:verify from='b.test' to='g3.test'"));
    auth.release();
    const last = await second.element((e) => dbAnswer(e) && e.attrs.to === "g3.test");
    assert.equal(last.attrs.type, "valid");
  } finally {
    first.close();
    second.close();
    await auth.fake.close();
    await b.stop();
  }
});

Deno.test("s2s in: a stream used only for db:verify stays open while it is used", async () => {
  const b = await startTestServer({
    hosts: ["b.test"],
    c2s: { authTimeoutSeconds: 1.5 },
    s2s: { authTimeoutSeconds: 1.5 },
  });
  const peer = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test");
  try {
    // a.test's server checks keys here (authoritative-server role) and never authenticates
    // a domain of its own: over longer than the authentication deadline, every request
    // is still answered.
    for (let i = 0; i < 4; i++) {
      const id = `v${i}`;
      const key = b.s2s!.manager.keys.generate("a.test", "b.test", id);
      peer.send(`<db:verify from='a.test' to='b.test' id='${id}'>${key}</db:verify>`);
      const answer = await peer.element((e) => e.name === "verify" && e.attrs.id === id);
      assert.equal(answer.attrs.type, "valid");
      await new Promise((r) => setTimeout(r, 500));
    }
    // Left unused, it is closed like any stream that authenticates nothing.
    assert.equal(await peer.streamError(), "connection-timeout");
  } finally {
    peer.close();
    await b.stop();
  }
});

/** A test CA in `s2s.caFile` form, and certificates it issues. */
async function testCa(): Promise<{ caFile: string; issue(d: string[]): Promise<PemPair> }> {
  const ca = await createTestCa();
  const caFile = await Deno.makeTempFile({ prefix: "parley-s2s-ca-", suffix: ".pem" });
  await Deno.writeTextFile(caFile, ca.certPem);
  return { caFile, issue: (domains) => ca.issue(domains) };
}

const dbAnswer = (e: Element) => e.name === "result" && e.attrs.type !== undefined;

Deno.test("s2s in: under requireValidCertificates a peer adds a second domain its certificate covers (XEP-0344)", async () => {
  const ca = await testCa();
  const b = await startTestServer({
    hosts: ["b.test"],
    s2s: { caFile: ca.caFile, requireValidCertificates: true },
  });
  const bob = await login(b, "bob", "builder", "b.test");
  const cert = await ca.issue(["a.test", "a2.test"]);
  const peer = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test", { cert });
  try {
    for (const domain of ["a.test", "a2.test"]) {
      peer.send(`<db:result from='${domain}' to='b.test'>${"0".repeat(64)}</db:result>`);
      const r = await peer.element(dbAnswer);
      assert.deepEqual([r.attrs.to, r.attrs.type], [domain, "valid"]);
    }
    // A domain the certificate does not name has no way in: dialback alone is not enough.
    peer.send(`<db:result from='a3.test' to='b.test'>${"0".repeat(64)}</db:result>`);
    const refused = await peer.element(dbAnswer);
    assert.equal(refused.attrs.type, "error");
    assert.ok(refused.findChild("error")?.findChild("not-allowed"), refused.toString());
    peer.send(`<message from='x@a2.test' to='bob@b.test/r' id='pb'><body>2</body></message>`);
    const got = await bob.stanza((e) => e.attrs.id === "pb");
    assert.equal(got.attrs.from, "x@a2.test");
  } finally {
    peer.close();
    bob.close();
    await b.stop();
    await Deno.remove(ca.caFile);
  }
});

Deno.test("s2s in: SASL EXTERNAL for a domain other than the stream's from is refused", async () => {
  const ca = await testCa();
  const b = await startTestServer({ hosts: ["b.test"], s2s: { caFile: ca.caFile } });
  // The certificate is good for both: only the stream header says which one this is.
  const cert = await ca.issue(["a.test", "c.test"]);
  const peer = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test", { cert });
  try {
    peer.send(`<auth xmlns='${NS.sasl}' mechanism='EXTERNAL'>${encodeBase64Text("c.test")}</auth>`);
    const failure = await peer.element((e) => e.name === "failure");
    assert.equal(failure.getChildren()[0]?.name, "invalid-authzid");
    peer.send(`<message from='x@c.test' to='bob@b.test' id='no'/>`);
    assert.equal(await peer.streamError(), "not-authorized");
  } finally {
    peer.close();
    await b.stop();
    await Deno.remove(ca.caFile);
  }
});

Deno.test("s2s in: a CA-issued certificate for another domain does not authenticate the peer", async () => {
  const ca = await testCa();
  const cert = await ca.issue(["c.test"]);
  const b = await startTestServer({ hosts: ["b.test"], s2s: { caFile: ca.caFile } });
  const strict = await startTestServer({
    hosts: ["b.test"],
    s2s: { caFile: ca.caFile, requireValidCertificates: true },
  });
  const peer = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test", { cert });
  const refused = await S2sPeer.connect(strict.ports.s2s, "a.test", "b.test", {
    openAfterTls: false,
  });
  try {
    // No EXTERNAL on offer, and asking anyway fails.
    peer.send(`<auth xmlns='${NS.sasl}' mechanism='EXTERNAL'>=</auth>`);
    const failure = await peer.element((e) => e.name === "failure");
    assert.equal(failure.getChildren()[0]?.name, "not-authorized");
    // Under requireValidCertificates the stream itself is refused after TLS.
    await refused.features();
    await refused.starttls(cert);
    refused.open();
    assert.equal(await refused.streamError(), "policy-violation");
  } finally {
    peer.close();
    refused.close();
    await b.stop();
    await strict.stop();
    await Deno.remove(ca.caFile);
  }
});
