import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { NS } from "../../src/xml/namespaces.ts";

Deno.test("STARTTLS + SCRAM-SHA-1 and SCRAM-SHA-256 + bind", async () => {
  const server = await startTestServer();
  try {
    for (const mechanism of ["SCRAM-SHA-1", "SCRAM-SHA-256"]) {
      const c = await TestClient.connect({ port: server.ports.c2s });
      const pre = await c.open();
      assert.ok(pre.getChild("starttls", NS.tls)?.getChild("required"), "TLS is required");
      assert.equal(pre.getChild("mechanisms", NS.sasl), undefined, "no SASL before TLS");
      await c.starttls();
      await c.open();
      assert.ok(c.mechanisms().includes(mechanism));
      assert.ok(c.mechanisms().includes("PLAIN"));
      const ok = await c.auth(mechanism, "alice", "wonderland");
      assert.equal(ok.name, "success");
      const post = await c.open();
      assert.ok(post.getChild("bind", NS.bind));
      const bound = await c.bind("laptop");
      assert.equal(bound.attrs.type, "result");
      assert.equal(c.jid, "alice@localhost/laptop");
      c.close();
    }
  } finally {
    await server.stop();
  }
});

Deno.test("direct TLS (XEP-0368) with PLAIN and a server-generated resource", async () => {
  const server = await startTestServer();
  try {
    const c = await TestClient.login({
      port: server.ports.c2sDirectTls,
      directTls: true,
      user: "bob",
      password: "builder",
      mechanism: "PLAIN",
    });
    assert.match(c.jid!, /^bob@localhost\/.+/);
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("IPv6: a client logs in over ::1", async () => {
  const server = await startTestServer({ listeners: { c2s: { interfaces: ["::1"] } } });
  try {
    const c = await TestClient.login({
      port: server.ports.c2s,
      address: "::1",
      user: "alice",
      password: "wonderland",
    });
    assert.match(c.jid!, /^alice@localhost\//);
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("SASL1 offers no -PLUS, so the y flag of slixmpp-like clients is honest (RFC 5802 §6)", async () => {
  const server = await startTestServer();
  try {
    for (const directTls of [false, true]) {
      const port = directTls ? server.ports.c2sDirectTls : server.ports.c2s;
      const c = await TestClient.connect({ port, directTls });
      let features = await c.open();
      if (!directTls) {
        await c.starttls();
        features = await c.open();
      }
      // Offering -PLUS here would mean refusing "y", which locks out every
      // client whose only binding is tls-unique/tls-exporter (see c2s.ts).
      assert.deepEqual(c.mechanisms(), ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]);
      assert.equal(features.getChild("sasl-channel-binding", NS.saslChannelBinding), undefined);
      const plus = await c.auth("SCRAM-SHA-256-PLUS", "alice", "wonderland");
      assert.ok(plus.getChild("invalid-mechanism"), plus.toString());
      const bound = await c.auth("SCRAM-SHA-256", "alice", "wonderland", "p=tls-server-end-point");
      assert.ok(bound.getChild("malformed-request"), bound.toString());
      // What slixmpp 1.8 sends on every SCRAM login over TLS.
      assert.equal((await c.auth("SCRAM-SHA-1", "alice", "wonderland", "y")).name, "success");
      c.close();
    }
  } finally {
    await server.stop();
  }
});

Deno.test("the insecure provider accepts any password and creates the account (PLAIN only)", async () => {
  const server = await startTestServer({ auth: { provider: "insecure" } }, {});
  try {
    assert.equal(await server.auth.userExists("localhost", "newbie"), false);
    const c = await TestClient.connect({ port: server.ports.c2sDirectTls, directTls: true });
    await c.open();
    assert.deepEqual(c.mechanisms(), ["PLAIN"]);
    assert.equal((await c.auth("PLAIN", "newbie", "anything")).name, "success");
    assert.equal(await server.auth.userExists("localhost", "newbie"), true);
    c.close();
  } finally {
    await server.stop();
  }
});

/** A stream header to localhost, with `lang` as xml:lang unless undefined. */
function header(lang?: string): string {
  return `<?xml version='1.0'?><stream:stream xmlns='jabber:client' ` +
    `xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'` +
    (lang === undefined ? "" : ` xml:lang='${lang}'`) + ">";
}

Deno.test("the reply header reflects the client's xml:lang, else says en (RFC 6120 §4.7.4)", async () => {
  const server = await startTestServer();
  try {
    for (
      const [sent, expected] of [["de-CH", "de-CH"], [undefined, "en"], ["not a tag!", "en"]]
    ) {
      const c = await TestClient.connect({ port: server.ports.c2s });
      await c.open("localhost", header(sent));
      assert.equal(c.streamHeader?.["xml:lang"], expected, `client sent ${sent}`);
      c.close();
    }
  } finally {
    await server.stop();
  }
});

Deno.test("a restart without xml:lang drops the language of the previous header", async () => {
  const server = await startTestServer();
  try {
    const bob = await TestClient.login({
      port: server.ports.c2s,
      user: "bob",
      password: "builder",
      resource: "b",
    });
    const c = await TestClient.connect({ port: server.ports.c2s });
    await c.open("localhost", header("de"));
    await c.starttls();
    await c.open("localhost", header("de"));
    assert.equal(c.streamHeader?.["xml:lang"], "de");
    assert.equal((await c.auth("SCRAM-SHA-256", "alice", "wonderland")).name, "success");
    await c.open("localhost", header());
    assert.equal(c.streamHeader?.["xml:lang"], "en");
    assert.equal((await c.bind("a")).attrs.type, "result");
    c.send("<message to='bob@localhost/b' id='m'><body>hi</body></message>");
    const got = await bob.stanza((e) => e.name === "message" && e.attrs.id === "m");
    assert.equal(got.attrs["xml:lang"], undefined, "no stream language left to apply");
    c.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("c2s.legacySession: false removes the <session/> feature and its iq", async () => {
  for (const legacySession of [true, false]) {
    const server = await startTestServer({ c2s: { legacySession } });
    try {
      const c = await TestClient.connect({ port: server.ports.c2sDirectTls, directTls: true });
      await c.open();
      assert.equal((await c.auth("PLAIN", "alice", "wonderland")).name, "success");
      const features = await c.open();
      assert.equal(features.getChild("session", NS.session) !== undefined, legacySession);
      await c.bind("r");
      c.send(`<iq type='set' id='s1'><session xmlns='${NS.session}'/></iq>`);
      const reply = await c.stanza((e) => e.attrs.id === "s1");
      assert.equal(reply.attrs.type, legacySession ? "result" : "error", reply.toString());
      c.close();
    } finally {
      await server.stop();
    }
  }
});
