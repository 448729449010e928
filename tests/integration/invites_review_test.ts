/** Invitations: defects found in a conformance review (XEP-0401/0379, RFC 5122). */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { removeAccount, startTestServer } from "../helpers/server.ts";
import {
  INVITE_MODULES,
  registerWithToken,
  rosterOf,
  storeInvite,
  tokenOf,
} from "../helpers/invites.ts";
import { parseForm } from "../../src/util/dataforms.ts";

const NS_COMMANDS = "http://jabber.org/protocol/commands";

async function inviteUriOf(c: TestClient): Promise<string> {
  c.send(
    `<iq type='set' to='localhost' id='inv'><command xmlns='${NS_COMMANDS}' node='urn:xmpp:invite#invite' action='execute'/></iq>`,
  );
  const r = await c.stanza((e) => e.name === "iq" && e.attrs.id === "inv");
  const x = r.getChild("command", NS_COMMANDS)?.getChild("x", "jabber:x:data");
  assert.ok(x, r.toString());
  return parseForm(x)!.get("uri")![0];
}

Deno.test("invites: an inviter's localpart is percent-encoded in the xmpp: URI (RFC 5122 §2.8)", async () => {
  const server = await startTestServer({
    modules: INVITE_MODULES,
    storage: { driver: "sqlite" },
    invites: { allowUsers: true },
  });
  // '?' and '#' are allowed in a localpart but end the path of a URI: unencoded,
  // the invitee's client would read an invitation to register on the host "mal".
  const name = "mal?register#x";
  assert.ok(await server.auth.createUser("localhost", name, "pw-mal-123"));
  const mal = await TestClient.login({
    port: server.ports.c2s,
    user: name,
    password: "pw-mal-123",
    resource: "r",
  });
  try {
    const uri = await inviteUriOf(mal);
    assert.match(uri, /^xmpp:mal%3Fregister%23x@localhost\?roster;preauth=[^;]+;ibr=y$/, uri);
    const url = new URL(uri);
    assert.equal(decodeURIComponent(url.pathname), `${name}@localhost`);
    // The token still works, and the roster link names the real inviter.
    assert.equal(await registerWithToken(server, tokenOf(uri), "nina", "pw-nina-1"), "ok");
    assert.deepEqual(await rosterOf(mal), { "nina@localhost": "both" });
  } finally {
    mal.close();
    await server.stop();
  }
});

Deno.test("invites: the landing page's attempt limit counts an IPv6 /64 as one address, as logins do", async () => {
  const server = await startTestServer({
    modules: INVITE_MODULES,
    http: { trustedProxies: ["127.0.0.1"] },
    invites: { maxAttemptsPerIp: 3 },
  });
  try {
    const base = `http://127.0.0.1:${server.ports.http}`;
    const statuses: number[] = [];
    // One subscriber's /64, a new address for every guess.
    for (let i = 1; i <= 4; i++) {
      const r = await fetch(`${base}/invite/guessedTokenGuessedToken${i}`, {
        method: "POST",
        body: "username=guess&password=guess-secret",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          origin: `https://127.0.0.1:${server.ports.http}`,
          "x-forwarded-for": `2001:db8:1:2::${i}`,
          "x-forwarded-proto": "https",
        },
      });
      await r.body?.cancel();
      statuses.push(r.status);
    }
    assert.deepEqual(statuses, [404, 404, 404, 429]);
  } finally {
    await server.stop();
  }
});

Deno.test("invites: a one-use invite redeemed by two registrations at once registers exactly one", async () => {
  const server = await startTestServer({ modules: INVITE_MODULES, storage: { driver: "sqlite" } });
  try {
    const invite = await storeInvite(server, "admin");
    const results = await Promise.all([
      registerWithToken(server, invite.token, "racer1", "pw-racer-1"),
      registerWithToken(server, invite.token, "racer2", "pw-racer-2"),
    ]);
    assert.deepEqual(results.filter((r) => r === "ok").length, 1, results.join(", "));
    const created = await Promise.all(
      ["racer1", "racer2"].map((u) => server.auth.userExists("localhost", u)),
    );
    assert.equal(created.filter(Boolean).length, 1);
  } finally {
    await server.stop();
  }
});

Deno.test("invites: a user's invite dies with the user's account (no roster written for a deleted name)", async () => {
  const server = await startTestServer({
    modules: INVITE_MODULES,
    storage: { driver: "sqlite" },
    invites: { allowUsers: true },
  });
  const bob = await TestClient.login({
    port: server.ports.c2s,
    user: "bob",
    password: "builder",
    resource: "r",
  });
  try {
    const uri = await inviteUriOf(bob);
    bob.close();
    await removeAccount(server, "bob");
    // Removed with the account (the user-deleted event)…
    const stored = await server.storage.map("localhost", "invites").get("", tokenOf(uri));
    assert.equal(stored, undefined);
    // The invite named bob as the contact to trust; bob is gone.
    assert.equal(
      await registerWithToken(server, tokenOf(uri), "olga", "pw-olga-1"),
      "item-not-found",
    );
    assert.equal(await server.auth.userExists("localhost", "olga"), false);
    assert.equal(await server.storage.keyval("localhost", "roster").get("bob"), undefined);

    // …and refused at redemption when the account went without the event
    // (removed while the server was down: only the credentials are gone here).
    assert.ok(await server.auth.createUser("localhost", "dave", "pw-dave-123"));
    const dave = await TestClient.login({
      port: server.ports.c2s,
      user: "dave",
      password: "pw-dave-123",
      resource: "r",
    });
    const daveUri = await inviteUriOf(dave);
    dave.close();
    assert.ok(await server.auth.deleteUser("localhost", "dave"));
    assert.equal(
      await registerWithToken(server, tokenOf(daveUri), "pia", "pw-pia-12"),
      "item-not-found",
    );
    assert.equal(await server.storage.keyval("localhost", "roster").get("dave"), undefined);
  } finally {
    await server.stop();
  }
});
