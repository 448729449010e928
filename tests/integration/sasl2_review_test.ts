/** SASL2 (XEP-0388) rules found missing in a conformance review. */
import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/client.ts";
import { authenticateXml, connectTls, plainResponse, sasl2Answer } from "../helpers/sasl2.ts";
import { NS } from "../../src/xml/namespaces.ts";

Deno.test("SASL2: an upgrade the server never announced fails the authentication (XEP-0388 §2.3)", async () => {
  const server = await startTestServer();
  try {
    const c = await connectTls(server.ports.c2sDirectTls);
    const feature = c.features!.getChild("authentication", NS.sasl2)!;
    assert.equal(feature.getChildren("upgrade").length, 0, "no upgrade is offered");
    c.send(
      `<authenticate xmlns='${NS.sasl2}' mechanism='PLAIN' upgrade='SCRAM-SHA-512'>` +
        `<initial-response>${plainResponse("alice", "wonderland")}</initial-response>` +
        `</authenticate>`,
    );
    const answer = await sasl2Answer(c);
    assert.equal(answer.name, "failure", answer.toString());
    assert.ok(answer.getChild("invalid-mechanism", NS.sasl), answer.toString());
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("SASL2: other traffic while an exchange awaits the client's response ends the stream (XEP-0388 §2.4)", async () => {
  const server = await startTestServer();
  try {
    const c = await connectTls(server.ports.c2sDirectTls);
    c.send(authenticateXml({ mechanism: "SCRAM-SHA-256", initial: btoa("n,,n=alice,r=abcdefgh") }));
    assert.equal((await sasl2Answer(c)).name, "challenge");
    // An iq some module answers before authentication (registration).
    c.send(`<iq type='get' id='reg'><query xmlns='jabber:iq:register'/></iq>`);
    assert.equal(await c.streamError(), "policy-violation");
  } finally {
    await server.stop();
  }
});

/** The salt SCRAM-SHA-256's server-first message announces for `name`. */
async function saltFor(port: number, name: string): Promise<string> {
  const c = await connectTls(port);
  try {
    c.send(
      authenticateXml({ mechanism: "SCRAM-SHA-256", initial: btoa(`n,,n=${name},r=nonce123`) }),
    );
    const challenge = await sasl2Answer(c);
    assert.equal(challenge.name, "challenge", challenge.toString());
    const salt = atob(challenge.text()).split(",").find((p) => p.startsWith("s="));
    assert.ok(salt);
    return salt;
  } finally {
    c.close();
  }
}

Deno.test("SCRAM: spellings of one name get one salt whether the account exists or not (no enumeration)", async () => {
  const server = await startTestServer();
  const port = server.ports.c2sDirectTls;
  try {
    // An account: "Alice" prepares to "alice", so both spellings get its stored salt.
    assert.equal(await saltFor(port, "Alice"), await saltFor(port, "alice"));
    // No account: the made-up salt must behave the same, or comparing two
    // spellings tells which names are accounts.
    assert.equal(await saltFor(port, "Nobody"), await saltFor(port, "nobody"));
  } finally {
    await server.stop();
  }
});

Deno.test("SASL2: a second <authenticate/> while the first awaits its response ends the stream (XEP-0388 §2.4)", async () => {
  const server = await startTestServer();
  try {
    const c = await connectTls(server.ports.c2sDirectTls);
    c.send(authenticateXml({ mechanism: "SCRAM-SHA-256", initial: btoa("n,,n=alice,r=abcdefgh") }));
    assert.equal((await sasl2Answer(c)).name, "challenge");
    c.send(authenticateXml({ mechanism: "SCRAM-SHA-256", initial: btoa("n,,n=bob,r=abcdefgh") }));
    assert.equal(await c.streamError(), "policy-violation");
  } finally {
    await server.stop();
  }
});

Deno.test("SASL2: <authenticate/> after <success/> is a stream error (XEP-0388 §4, multiple authentication)", async () => {
  const server = await startTestServer();
  try {
    const c = await connectTls(server.ports.c2sDirectTls);
    const login = authenticateXml({
      mechanism: "PLAIN",
      initial: plainResponse("alice", "wonderland"),
    });
    c.send(login);
    assert.equal((await sasl2Answer(c)).name, "success");
    c.send(authenticateXml({ mechanism: "PLAIN", initial: plainResponse("bob", "builder") }));
    assert.notEqual(await c.streamError(), "?");
  } finally {
    await server.stop();
  }
});

Deno.test("Bind2: a long tag is cut at a character boundary, never inside a surrogate pair", async () => {
  const server = await startTestServer();
  try {
    const c = await connectTls(server.ports.c2sDirectTls);
    // 31 + one astral character: a cut after 32 UTF-16 units splits the emoji.
    const tag = "A".repeat(31) + "\u{1F600}" + "tail";
    c.send(authenticateXml({
      mechanism: "PLAIN",
      initial: plainResponse("alice", "wonderland"),
      userAgentId: "5d1c6e0e-8f7a-4b8e-9a57-1f0f3b6c2a10",
      inline: `<bind xmlns='${NS.bind2}'><tag>${tag}</tag></bind>`,
    }));
    const success = await sasl2Answer(c);
    assert.equal(success.name, "success", success.toString());
    const jid = success.getChildText("authorization-identifier")!;
    assert.ok(!jid.includes("\uFFFD"), `no broken character: ${jid}`);
    // The JID the client was told is the one the server routes to.
    assert.ok(server.sessions.full(jid, "localhost"), `session bound as ${jid}`);
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("SASL1: an exchange begun in plaintext does not survive STARTTLS (RFC 6120 §5.4.3.3)", async () => {
  const server = await startTestServer({ c2s: { allowUnencrypted: true } });
  try {
    const c = await TestClient.connect({ port: server.ports.c2s });
    await c.open();
    c.send(`<auth xmlns='${NS.sasl}' mechanism='SCRAM-SHA-256'>${btoa("n,,n=alice,r=abc")}</auth>`);
    assert.equal((await c.stanza((e) => e.name === "challenge")).name, "challenge");
    await c.starttls();
    await c.open();
    // Well-formed, wrong nonce: an exchange still running would judge it
    // (not-authorized); after TLS there must be none to judge it.
    c.send(`<response xmlns='${NS.sasl}'>${btoa("c=biws,r=abcXYZ,p=AAAA")}</response>`);
    const answer = await c.stanza((e) => e.name === "failure" || e.name === "success");
    assert.ok(answer.getChild("malformed-request"), answer.toString());
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("SASL2: a non-empty authzid that is not the stream's from fails (XEP-0388 §2.3, §4)", async () => {
  const server = await startTestServer();
  const header = (from: string) =>
    `<?xml version='1.0'?><stream:stream xmlns='jabber:client' ` +
    `xmlns:stream='http://etherx.jabber.org/streams' from='${from}' to='localhost' ` +
    `version='1.0' xml:lang='en'>`;
  const plainAs = (authzid: string) => btoa(`${authzid}\0alice\0wonderland`);
  try {
    const c = await TestClient.connect({ port: server.ports.c2sDirectTls, directTls: true });
    await c.open("localhost", header("bob@localhost"));
    c.send(authenticateXml({ mechanism: "PLAIN", initial: plainAs("alice@localhost") }));
    const refused = await sasl2Answer(c);
    assert.equal(refused.name, "failure", refused.toString());
    assert.ok(refused.getChild("invalid-authzid", NS.sasl), refused.toString());
    c.close();
    // The same authzid where the header names alice (case aside) is accepted.
    const ok = await TestClient.connect({ port: server.ports.c2sDirectTls, directTls: true });
    await ok.open("localhost", header("Alice@localhost"));
    ok.send(authenticateXml({ mechanism: "PLAIN", initial: plainAs("alice@localhost") }));
    assert.equal((await sasl2Answer(ok)).name, "success");
    ok.close();
  } finally {
    await server.stop();
  }
});

Deno.test("FAST: wrong tokens count towards the login throttle; past it the right one is refused too", async () => {
  const server = await startTestServer();
  const port = server.ports.c2sDirectTls;
  const ua = "0b8f8a44-55b8-4c4e-8f43-0d5d0c1f6e21";
  const enc = new TextEncoder();
  const htLogin = async (key: string): Promise<string> => {
    const k = await crypto.subtle.importKey(
      "raw",
      enc.encode(key),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode("Initiator")));
    const c = await connectTls(port);
    c.send(authenticateXml({
      mechanism: "HT-SHA-256-NONE",
      initial: btoa(String.fromCharCode(...enc.encode("alice"), 0, ...mac)),
      userAgentId: ua,
    }));
    const answer = await sasl2Answer(c);
    c.close();
    return answer.name === "success"
      ? "success"
      : answer.getChildren().find((e) => e.attrs.xmlns === NS.sasl)?.name ?? "?";
  };
  try {
    const c = await connectTls(port);
    c.send(authenticateXml({
      mechanism: "PLAIN",
      initial: plainResponse("alice", "wonderland"),
      userAgentId: ua,
      inline: `<request-token xmlns='${NS.fast}' mechanism='HT-SHA-256-NONE'/>`,
    }));
    const token = (await sasl2Answer(c)).getChild("token", NS.fast)!.attrs.token;
    c.close();
    assert.equal(await htLogin(token), "success");
    // Defaults: 5 failures per (account, address) and window.
    for (let i = 0; i < 5; i++) assert.equal(await htLogin(`guess-${i}`), "not-authorized");
    assert.equal(await htLogin(token), "temporary-auth-failure");
  } finally {
    await server.stop();
  }
});

Deno.test("SASL2: not offered where no mechanism can be used (XEP-0388 §2.1)", async () => {
  // The insecure provider has PLAIN only, and PLAIN is not offered in plaintext.
  const server = await startTestServer({
    auth: { provider: "insecure" },
    c2s: { allowUnencrypted: true },
  });
  try {
    const c = await TestClient.connect({ port: server.ports.c2s });
    const features = await c.open();
    assert.deepEqual(c.mechanisms(), []);
    assert.equal(features.getChild("authentication", NS.sasl2), undefined, features.toString());
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("Bind2: one installation's resource does not link its accounts (suffix per account, not per user agent alone)", async () => {
  const server = await startTestServer();
  const ua = "7c0e6b8e-2a4f-4b59-9d3c-3f1e2d4c5b6a";
  const boundAs = async (user: string, password: string) => {
    const c = await connectTls(server.ports.c2sDirectTls);
    c.send(authenticateXml({
      mechanism: "PLAIN",
      initial: plainResponse(user, password),
      userAgentId: ua,
      inline: `<bind xmlns='${NS.bind2}'><tag>Phone</tag></bind>`,
    }));
    const jid = (await sasl2Answer(c)).getChildText("authorization-identifier")!;
    c.close();
    return jid.split("/")[1];
  };
  try {
    const alice = await boundAs("alice", "wonderland");
    assert.equal(await boundAs("alice", "wonderland"), alice, "stable for one account");
    // Contacts of both accounts would otherwise see one device behind them.
    assert.notEqual(await boundAs("bob", "builder"), alice);
  } finally {
    await server.stop();
  }
});
