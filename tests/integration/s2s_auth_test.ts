/**
 * Federation policy and negotiation edge cases, against a scripted peer
 * (`S2sPeer`, or a fake remote server listening here): stream versions,
 * encryption and certificate policy, authentication time limits, repeated
 * dialback requests.
 */
import assert from "node:assert/strict";
import { configure, type LogRecord } from "@logtape/logtape";
import { TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { fakeHeader, FakeS2sServer, S2sPeer } from "../helpers/s2s_peer.ts";
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

async function pair(
  overridesA: Record<string, unknown> = {},
  overridesB: Record<string, unknown> = {},
): Promise<[TestServer, TestServer]> {
  const a = await startTestServer({ hosts: ["a.test"], ...overridesA });
  const b = await startTestServer({ hosts: ["b.test"], ...overridesB });
  a.config.s2s.hosts["b.test"] = `127.0.0.1:${b.ports.s2s}`;
  b.config.s2s.hosts["a.test"] = `127.0.0.1:${a.ports.s2s}`;
  return [a, b];
}

function login(server: TestServer, user: string, password: string, domain: string) {
  return TestClient.login({ port: server.ports.c2s, domain, user, password, resource: "r" });
}

const errorCondition = (e: Element) =>
  e.getChild("error")?.getChildren().find((c) => c.name !== "text")?.name;

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
