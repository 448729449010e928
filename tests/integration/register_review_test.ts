/** Adversarial review of in-band registration (XEP-0077). */
import assert from "node:assert/strict";
import { errorCondition as condition } from "../helpers/client.ts";
import { BoshClient, withBosh } from "../helpers/bosh_client.ts";
import { TestClient } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";

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
