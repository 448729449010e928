import assert from "node:assert/strict";
import type * as tls from "node:tls";
import { removeAccount, startTestServer } from "../helpers/server.ts";
import { authenticateXml, connectTls, plainResponse, sasl2Answer } from "../helpers/sasl2.ts";
import type { TestClient } from "../helpers/client.ts";
import { NS } from "../../src/xml/namespaces.ts";

const UA = "2b1d5bb4-3a1c-4f7e-9f55-5d9e1c1f0a11";
const enc = new TextEncoder();

async function hmac(key: string, label: string, cb: Uint8Array): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey(
    "raw",
    enc.encode(key),
    {
      name: "HMAC",
      hash: "SHA-256",
    },
    false,
    ["sign"],
  );
  const msg = new Uint8Array([...enc.encode(label), ...cb]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, msg));
}

function b64bytes(b: Uint8Array): string {
  return btoa(String.fromCharCode(...b));
}

async function endpoint(c: TestClient): Promise<Uint8Array> {
  const der = (c.socket as tls.TLSSocket).getPeerCertificate().raw;
  return new Uint8Array(await crypto.subtle.digest("SHA-256", der as BufferSource));
}

/** A FAST login with `token`; returns the answer (and checks the server's HMAC on success). */
async function fastLogin(
  port: number,
  token: string,
  opts: { mechanism?: string; inline?: string; ua?: string } = {},
): Promise<{ answer: import("../../src/xml/element.ts").Element; roundTrips: number }> {
  const mechanism = opts.mechanism ?? "HT-SHA-256-NONE";
  const c = await connectTls(port);
  const cb = mechanism.endsWith("ENDP") ? await endpoint(c) : new Uint8Array();
  const initial = new Uint8Array([
    ...enc.encode("alice"),
    0,
    ...await hmac(token, "Initiator", cb),
  ]);
  c.send(authenticateXml({
    mechanism,
    initial: b64bytes(initial),
    userAgentId: opts.ua ?? UA,
    inline: opts.inline ?? "",
  }));
  const answer = await sasl2Answer(c);
  if (answer.name === "success") {
    assert.equal(
      answer.getChildText("additional-data"),
      b64bytes(await hmac(token, "Responder", cb)),
      "server proves it holds the token too",
    );
  }
  c.close();
  return { answer, roundTrips: 1 };
}

const requestToken = (m = "HT-SHA-256-NONE") =>
  `<request-token xmlns='${NS.fast}' mechanism='${m}'/>`;

function tokenOf(success: import("../../src/xml/element.ts").Element): string {
  const t = success.getChild("token", NS.fast);
  assert.ok(t, "token issued: " + success.toString());
  assert.ok(Date.parse(t.attrs.expiry) > Date.now() + 13 * 86_400_000, "expiry ~ tokenDays");
  return t.attrs.token;
}

/** A password login (PLAIN over SASL2) asking for a token for `mechanism`; the token. */
async function passwordLoginForToken(port: number, mechanism?: string): Promise<string> {
  const c = await connectTls(port);
  c.send(authenticateXml({
    mechanism: "PLAIN",
    initial: plainResponse("alice", "wonderland"),
    userAgentId: UA,
    inline: requestToken(mechanism),
  }));
  const token = tokenOf(await sasl2Answer(c));
  c.close();
  return token;
}

Deno.test("FAST: token issued, used without the password, rotated, refused after a password change", async () => {
  const server = await startTestServer();
  const port = server.ports.c2sDirectTls;
  try {
    const c = await connectTls(port);
    const fast = c.features!.getChild("authentication", NS.sasl2)!.getChild("inline")!
      .getChild("fast", NS.fast)!;
    assert.deepEqual(fast.getChildren("mechanism").map((m) => m.text()), [
      "HT-SHA-256-ENDP",
      "HT-SHA-256-NONE",
    ]);
    assert.ok(!c.mechanisms().some((m) => m.startsWith("HT-")), "not in the SASL1 list");
    c.send(authenticateXml({
      mechanism: "PLAIN",
      initial: plainResponse("alice", "wonderland"),
      userAgentId: UA,
      inline: requestToken() + `<bind xmlns='${NS.bind2}'><tag>Tester</tag></bind>`,
    }));
    const first = await sasl2Answer(c);
    assert.equal(first.name, "success");
    const a = tokenOf(first);
    c.close();

    // Second login: the token, no password, one round trip; a new token.
    const second = await fastLogin(port, a, {
      inline: requestToken() + `<bind xmlns='${NS.bind2}'><tag>Tester</tag></bind>`,
    });
    assert.equal(second.answer.name, "success");
    assert.equal(second.roundTrips, 1);
    assert.match(
      second.answer.getChildText("authorization-identifier")!,
      /^alice@localhost\/Tester\./,
    );
    const b = tokenOf(second.answer);
    assert.notEqual(b, a);
    // The old token still works until the new one is used once…
    assert.equal((await fastLogin(port, a)).answer.name, "success");
    assert.equal((await fastLogin(port, b)).answer.name, "success");
    // …and then no more.
    const stale = await fastLogin(port, a);
    assert.equal(stale.answer.name, "failure");
    assert.ok(stale.answer.getChild("not-authorized", NS.sasl));
    // Another installation's id does not match the token.
    assert.equal((await fastLogin(port, b, { ua: "someone-else" })).answer.name, "failure");

    // A password change makes every token useless.
    await server.auth.setPassword("localhost", "alice", "looking-glass");
    assert.equal((await fastLogin(port, b)).answer.name, "failure");
  } finally {
    await server.stop();
  }
});

Deno.test("FAST: HT-SHA-256-ENDP binds to the TLS certificate; invalidate ends the tokens", async () => {
  const server = await startTestServer();
  const port = server.ports.c2sDirectTls;
  try {
    const token = await passwordLoginForToken(port, "HT-SHA-256-ENDP");
    const ok = await fastLogin(port, token, { mechanism: "HT-SHA-256-ENDP" });
    assert.equal(ok.answer.name, "success");
    // XEP-0484 §4.4: a token is bound to the mechanism it was requested for.
    assert.equal(
      (await fastLogin(port, token, { mechanism: "HT-SHA-256-NONE" })).answer.name,
      "failure",
      "an ENDP token is refused with NONE (no channel-binding downgrade)",
    );
    const wrongCb = await connectTls(port);
    wrongCb.send(authenticateXml({
      mechanism: "HT-SHA-256-ENDP",
      initial: b64bytes(
        new Uint8Array([
          ...enc.encode("alice"),
          0,
          ...await hmac(token, "Initiator", new Uint8Array()),
        ]),
      ),
      userAgentId: UA,
    }));
    assert.equal((await sasl2Answer(wrongCb)).name, "failure", "ENDP without the cert data fails");
    wrongCb.close();

    const bye = await fastLogin(port, token, {
      mechanism: "HT-SHA-256-ENDP",
      inline: `<fast xmlns='${NS.fast}' invalidate='true'/>`,
    });
    assert.equal(bye.answer.name, "success");
    assert.equal(
      (await fastLogin(port, token, { mechanism: "HT-SHA-256-ENDP" })).answer.name,
      "failure",
      "invalidated",
    );

    // SASL1 never takes HT-*.
    const s1 = await connectTls(port);
    s1.send(`<auth xmlns='${NS.sasl}' mechanism='HT-SHA-256-NONE'>=</auth>`);
    const f = await s1.stanza((e) => e.name === "failure");
    assert.ok(f.getChild("invalid-mechanism"));
    s1.close();
  } finally {
    await server.stop();
  }
});

Deno.test("FAST: tokens go with the account", async () => {
  const server = await startTestServer();
  const port = server.ports.c2sDirectTls;
  try {
    const token = await passwordLoginForToken(port);
    const stored = await server.storage.map("localhost", "fast_tokens").getAll("alice");
    assert.equal(stored.size, 1);
    assert.ok(!JSON.stringify([...stored.values()]).includes(token), "the token is not stored");
    await removeAccount(server, "alice");
    assert.equal((await server.storage.map("localhost", "fast_tokens").getAll("alice")).size, 0);
    // Re-created under the same name (forced past the tombstone): the old token is no key.
    await server.auth.createUser("localhost", "alice", "wonderland");
    assert.equal((await fastLogin(port, token)).answer.name, "failure");
  } finally {
    await server.stop();
  }
});
