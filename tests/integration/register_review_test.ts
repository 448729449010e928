/** Adversarial review of in-band registration (XEP-0077). */
import assert from "node:assert/strict";
import { BoshClient, withBosh } from "../helpers/bosh_client.ts";
import { errorCondition as condition, TestClient } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";

const NS_REGISTER = "jabber:iq:register";

/** Register over BOSH as if from `ip` (behind a trusted proxy); the iq's answer. */
async function registerFrom(url: string, ip: string, user: string): Promise<string> {
  const c = new BoshClient(url);
  c.headers["x-forwarded-for"] = ip;
  c.headers["x-forwarded-proto"] = "https";
  await c.create();
  await c.stanza((e) => e.name === "stream:features");
  await c.request(
    `<iq type='set' id='r' xmlns='jabber:client'><query xmlns='${NS_REGISTER}'>` +
      `<username>${user}</username><password>secret-${user}</password></query></iq>`,
  );
  const reply = await c.stanza((e) => e.name === "iq" && e.attrs.id === "r");
  return reply.attrs.type === "result" ? "ok" : condition(reply) ?? "?";
}

Deno.test("register review: the per-IP account limit counts an IPv6 /64 as one address", async () => {
  await withBosh({
    registration: { enabled: true, maxPerIp: 2 },
    http: { trustedProxies: ["127.0.0.1"] },
  }, async ({ url, server }) => {
    const results: string[] = [];
    // One subscriber's /64, a fresh address for every account.
    for (let i = 1; i <= 3; i++) {
      results.push(await registerFrom(url, `2001:db8:1:2::${i}`, `sub${i}`));
    }
    assert.deepEqual(results, ["ok", "ok", "not-acceptable"]);
    assert.equal(await server.auth.userExists("localhost", "sub3"), false);
    // Another /64 is another client.
    assert.equal(await registerFrom(url, "2001:db8:1:3::1", "other1"), "ok");
  });
});

Deno.test("register review: <remove/> also ends the account's streams that authenticated but have not bound yet", async () => {
  const server = await startTestServer({ registration: { enabled: true } });
  try {
    await server.auth.createUser("localhost", "gina", "pw-gina");
    const opts = { port: server.ports.c2s, user: "gina", password: "pw-gina" };
    const unbound = await TestClient.authenticate(opts);
    const bound = await TestClient.login({ ...opts, resource: "main" });
    bound.send(`<iq type='set' id='rm'><query xmlns='${NS_REGISTER}'><remove/></query></iq>`);
    assert.equal(await bound.streamError(), "not-authorized");
    // The stream of a removed account must not live on to bind a resource.
    assert.equal(await unbound.streamError(), "not-authorized");
    unbound.close();
    bound.close();
  } finally {
    await server.stop();
  }
});

/** Register `user` on a fresh pre-auth stream; "ok" or the error condition. */
async function registerName(port: number, user: string): Promise<string> {
  const c = await TestClient.connect({ port });
  try {
    await c.open();
    await c.starttls();
    await c.open();
    c.send(
      `<iq type='set' id='n'><query xmlns='${NS_REGISTER}'><username>${user}</username>` +
        `<password>pw-name</password></query></iq>`,
    );
    const reply = await c.stanza((e) => e.name === "iq" && e.attrs.id === "n");
    return reply.attrs.type === "result" ? "ok" : condition(reply) ?? "?";
  } finally {
    c.close();
  }
}

Deno.test("register review: a joiner (ZWJ/ZWNJ) outside the context PRECIS allows it in is refused", async () => {
  const server = await startTestServer({ registration: { enabled: true, maxPerIp: 10 } });
  try {
    const port = server.ports.c2s;
    // Invisible in Latin text: "a\u200db" would pass for "ab" (RFC 5892 A.1, A.2).
    assert.equal(await registerName(port, "a\u200db"), "jid-malformed");
    assert.equal(await registerName(port, "a\u200cb"), "jid-malformed");
    assert.equal(await registerName(port, "\u200dab"), "jid-malformed");
    assert.equal(await server.auth.userExists("localhost", "a\u200db"), false);
    // Where scripts need them: ZWNJ between Persian letters, ZWJ after a Devanagari virama.
    assert.equal(
      await registerName(port, "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"),
      "ok",
    );
    assert.equal(await registerName(port, "\u0915\u094d\u200d\u0937"), "ok");
  } finally {
    await server.stop();
  }
});

Deno.test("register review: a new username holds letters and digits only (PRECIS IdentifierClass)", async () => {
  const server = await startTestServer({ registration: { enabled: true, maxPerIp: 20 } });
  try {
    const port = server.ports.c2s;
    // Symbols, non-ASCII punctuation, unassigned code points: FREE_PVAL or
    // UNASSIGNED, disallowed in IdentifierClass (RFC 8264 §9.11-9.14, §9.16).
    for (
      const name of [
        "alice\u{1f600}",
        "\u2603",
        "a\u20acb",
        "a\u2014b",
        "a\u00abb",
        "x\u0378",
        "a\u00a1b",
      ]
    ) {
      assert.equal(await registerName(port, name), "jid-malformed", JSON.stringify(name));
    }
    // RFC 5892 exceptions: the tatweel is disallowed; the middle dot only in Catalan "l·l".
    assert.equal(await registerName(port, "\u0628\u0640\u0628"), "jid-malformed");
    assert.equal(await registerName(port, "a\u00b7b"), "jid-malformed");
    // Letters and digits of any script, marks, the ASCII printables, and the exceptions PRECIS keeps.
    for (
      const name of [
        "col\u00b7legi",
        "stra\u00dfe",
        "\u00e9l\u00e8ve",
        "\u0434\u0435\u0434",
        "\u5f20\u4e09",
        "x_y.z-1+2",
        "\u03c3\u03bf\u03c6\u03bf\u03c2",
      ]
    ) {
      assert.equal(await registerName(port, name), "ok", JSON.stringify(name));
    }
  } finally {
    await server.stop();
  }
});

Deno.test("register review: a SCRAM exchange begun before the account was removed does not log in after", async () => {
  const server = await startTestServer({ registration: { enabled: true } });
  try {
    await server.auth.createUser("localhost", "jill", "pw-jill");
    const c = await TestClient.connect({ port: server.ports.c2s });
    await c.open();
    await c.starttls();
    await c.open();
    // Hold the client's final SCRAM message until the account is gone.
    const send = c.send.bind(c);
    let held = "";
    let release!: () => void;
    const proofReady = new Promise<void>((r) => release = r);
    c.send = (data: string) => {
      if (data.startsWith("<response")) {
        held = data;
        release();
      } else send(data);
    };
    const result = c.auth("SCRAM-SHA-256", "jill", "pw-jill");
    await proofReady;
    const owner = await TestClient.login({
      port: server.ports.c2s,
      user: "jill",
      password: "pw-jill",
      resource: "main",
    });
    owner.send(`<iq type='set' id='rm'><query xmlns='${NS_REGISTER}'><remove/></query></iq>`);
    assert.equal(await owner.streamError(), "not-authorized");
    owner.close();
    assert.equal(await server.auth.userExists("localhost", "jill"), false);
    send(held);
    assert.equal((await result).name, "failure");
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("register review: a login while the account's data is being removed is refused", async () => {
  // Storage whose removal of a user's data waits for the test's go.
  let entered!: () => void;
  const removing = new Promise<void>((r) => entered = r);
  let go!: () => void;
  const gate = new Promise<void>((r) => go = r);
  const storage = new class extends MemoryStorage {
    override async deleteUser(host: string, username: string): Promise<void> {
      entered();
      await gate;
      return await super.deleteUser(host, username);
    }
  }();
  const server = await startTestServer({ registration: { enabled: true } }, undefined, { storage });
  try {
    await server.auth.createUser("localhost", "kim", "pw-kim");
    const opts = { port: server.ports.c2s, user: "kim", password: "pw-kim" };
    const owner = await TestClient.login({ ...opts, resource: "main" });
    owner.send(`<iq type='set' id='rm'><query xmlns='${NS_REGISTER}'><remove/></query></iq>`);
    assert.equal(await owner.streamError(), "not-authorized");
    owner.close();
    await removing;
    // The credentials are still there, but the account is on its way out.
    await assert.rejects(TestClient.login({ ...opts, resource: "late" }), /auth failed/);
    go();
    // The removal finishes on its own now; bounded wait for it.
    for (let i = 0; i < 100 && await server.auth.userExists("localhost", "kim"); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(await server.auth.userExists("localhost", "kim"), false);
  } finally {
    go();
    await server.stop();
  }
});
