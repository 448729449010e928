/**
 * A reload that closes a door closes it at once: the settings that
 * restrict access (registration, /metrics, trusted proxies…) are applied
 * by a reload and read where they are used, not captured at start-up.
 */
import assert from "node:assert/strict";
import { errorCondition, TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { fetchPath } from "../helpers/metrics.ts";
import { INVITE_MODULES } from "../helpers/invites.ts";
import { S2sPeer } from "../helpers/s2s_peer.ts";
import { loginCookie, statusData, statusUrl } from "../helpers/status.ts";
import { login as uploadLogin, put, requestSlot, slotOf, UPLOAD } from "../helpers/upload.ts";
import { NS } from "../../src/xml/namespaces.ts";
import { join, MUC, mucConfig, startMucWith, statusCodes } from "../helpers/muc.ts";
import { login as pubsubLogin, ps, startPubsubServer } from "../helpers/pubsub.ts";
import { configFor } from "../helpers/reload.ts";
import type { Element } from "../../src/xml/element.ts";

/** The answer to a register get before login; `offered`: whether the stream listed the feature. */
async function registerGet(server: TestServer, offered: boolean): Promise<Element> {
  const c = await TestClient.connect({ port: server.ports.c2s });
  try {
    await c.open();
    await c.starttls();
    await c.open();
    const feature = c.features?.getChild("register", "http://jabber.org/features/iq-register");
    assert.equal(feature !== undefined, offered, "the register stream feature");
    c.send("<iq type='get' id='g'><query xmlns='jabber:iq:register'/></iq>");
    return await c.stanza((e) => e.name === "iq" && e.attrs.id === "g");
  } finally {
    c.close();
  }
}

Deno.test("reload: registration.enabled turned off refuses new registrations at once, and back on", async () => {
  const server = await startTestServer({ registration: { enabled: true } });
  try {
    assert.equal((await registerGet(server, true)).attrs.type, "result");
    const off = await server.reload(configFor(server, { registration: { enabled: false } }));
    assert.equal(off.ok, true, off.error);
    assert.deepEqual(off.needsRestart, []);
    assert.equal(errorCondition(await registerGet(server, false)), "service-unavailable");
    const on = await server.reload(configFor(server, { registration: { enabled: true } }));
    assert.deepEqual(on.needsRestart, []);
    assert.equal((await registerGet(server, true)).attrs.type, "result");
  } finally {
    await server.stop();
  }
});

Deno.test("reload: metrics.allowFrom, metrics.token and http.trustedProxies apply at once", async () => {
  const token = "old-token-for-scrapers";
  const start = {
    metrics: { allowFrom: ["10.0.0.0/8"], token },
    http: { trustedProxies: ["127.0.0.1"] },
  };
  const server = await startTestServer(start);
  const status = async (headers: Record<string, string>) => {
    const res = await fetchPath(server, "/metrics", headers);
    await res.body?.cancel();
    return res.status;
  };
  try {
    assert.equal(await status({ "x-forwarded-for": "10.1.2.3" }), 200);
    assert.equal(await status({ authorization: `Bearer ${token}` }), 200);
    const report = await server.reload(configFor(server, {
      metrics: { allowFrom: ["192.168.0.0/16"], token: "new-token-for-scrapers" },
      http: { trustedProxies: ["127.0.0.1"] },
    }));
    assert.equal(report.ok, true, report.error);
    assert.deepEqual(report.needsRestart, []);
    assert.equal(await status({ "x-forwarded-for": "10.1.2.3" }), 403);
    assert.equal(await status({ authorization: `Bearer ${token}` }), 403);
    assert.equal(await status({ authorization: "Bearer new-token-for-scrapers" }), 200);
    assert.equal(await status({ "x-forwarded-for": "192.168.1.1" }), 200);
    // The proxy no longer trusted: its X-Forwarded-For counts for nothing.
    const untrusted = await server.reload(configFor(server, {
      metrics: { allowFrom: ["192.168.0.0/16"], token: "new-token-for-scrapers" },
      http: { trustedProxies: [] },
    }));
    assert.deepEqual(untrusted.needsRestart, []);
    assert.equal(await status({ "x-forwarded-for": "192.168.1.1" }), 403);
  } finally {
    await server.stop();
  }
});

Deno.test("reload: muc.create narrowed to admins refuses a user's new room at once", async () => {
  const start = mucConfig({ muc: { create: "local" } });
  const { server, bob } = await startMucWith(["bob"], start);
  try {
    const first = await join(bob, `first@${MUC}`, "Bob");
    assert.ok(statusCodes(first.self).includes("201"));
    const report = await server.reload(configFor(server, mucConfig({ muc: { create: "admins" } })));
    assert.equal(report.ok, true, report.error);
    assert.deepEqual(report.needsRestart, []);
    const denied = await join(bob, `second@${MUC}`, "Bob");
    assert.equal(errorCondition(denied.self), "not-allowed");
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("reload: pubsub.create narrowed to admins refuses a user's new node at once", async () => {
  const server = await startPubsubServer({ pubsub: { create: "local" } });
  try {
    const alice = await pubsubLogin(server, "alice");
    assert.equal((await ps(alice, "set", `<create node='a'/>`)).attrs.type, "result");
    const report = await server.reload(
      configFor(server, { muc: { enabled: false }, pubsub: { create: "admins" } }),
    );
    assert.equal(report.ok, true, report.error);
    assert.deepEqual(report.needsRestart, []);
    assert.equal(errorCondition(await ps(alice, "set", `<create node='b'/>`)), "forbidden");
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("reload: invites.allowUsers turned off stops a user's invite command at once", async () => {
  const invites = (allowUsers: boolean) => ({
    modules: INVITE_MODULES,
    admins: ["alice@localhost"],
    invites: { allowUsers },
  });
  const server = await startTestServer(invites(true));
  const bob = await TestClient.login({
    port: server.ports.c2s,
    user: "bob",
    password: "builder",
    resource: "r",
  });
  const execute = async (id: string) => {
    bob.send(
      `<iq type='set' to='localhost' id='${id}'><command xmlns='http://jabber.org/protocol/commands' node='urn:xmpp:invite#invite' action='execute'/></iq>`,
    );
    return await bob.stanza((e) => e.name === "iq" && e.attrs.id === id);
  };
  try {
    assert.equal((await execute("c1")).attrs.type, "result");
    const report = await server.reload(configFor(server, invites(false)));
    assert.equal(report.ok, true, report.error);
    assert.deepEqual(report.needsRestart, []);
    assert.equal(errorCondition(await execute("c2")), "forbidden");
  } finally {
    bob.close();
    await server.stop();
  }
});

Deno.test("reload: s2s.requireEncryption turned on requires STARTTLS of the next peer", async () => {
  const s2s = (requireEncryption: boolean) => ({ hosts: ["b.test"], s2s: { requireEncryption } });
  const server = await startTestServer(s2s(false));
  const starttlsRequired = async () => {
    const peer = await S2sPeer.connect(server.ports.s2s, "a.test", "b.test", {
      openAfterTls: false,
    });
    try {
      return (await peer.features()).getChild("starttls", NS.tls)?.getChild("required") !==
        undefined;
    } finally {
      peer.close();
    }
  };
  try {
    assert.equal(await starttlsRequired(), false);
    const report = await server.reload(configFor(server, s2s(true)));
    assert.equal(report.ok, true, report.error);
    assert.deepEqual(report.needsRestart, []);
    assert.equal(await starttlsRequired(), true);
  } finally {
    await server.stop();
  }
});

Deno.test("reload: upload turned on, or a new host's upload service, hands out slots that work", async () => {
  const server = await startTestServer({ upload: { enabled: false } });
  try {
    const report = await server.reload(configFor(server, { hosts: ["localhost", "b.example"] }));
    assert.equal(report.ok, true, report.error);
    assert.deepEqual(report.needsRestart, []);
    assert.ok(report.hostsAdded.includes(UPLOAD));
    await server.auth.createUser("b.example", "dora", "explorer");
    const alice = await uploadLogin(server);
    const dora = await TestClient.login({
      port: server.ports.c2s,
      domain: "b.example",
      user: "dora",
      password: "explorer",
      resource: "r",
    });
    try {
      for (const [c, to] of [[alice, UPLOAD], [dora, "upload.b.example"]] as const) {
        const slot = slotOf(await requestSlot(c, { filename: "a.txt", size: 5 }, to));
        assert.equal(new URL(slot.put).port, String(server.ports.https), slot.put);
        const res = await put(server, slot.put, "hello");
        await res.body?.cancel();
        assert.equal(res.status, 201, to);
      }
    } finally {
      alice.close();
      dora.close();
    }
  } finally {
    await server.stop();
  }
});

Deno.test("reload: upload.allowedTypes narrowed refuses a slot for another type at once", async () => {
  const server = await startTestServer({});
  try {
    const alice = await uploadLogin(server);
    try {
      const before = await requestSlot(alice, { filename: "a.txt", size: 5, type: "text/plain" });
      assert.equal(before.attrs.type, "result");
      const report = await server.reload(
        configFor(server, { upload: { allowedTypes: ["image/*"] } }),
      );
      assert.equal(report.ok, true, report.error);
      assert.deepEqual(report.needsRestart, []);
      const after = await requestSlot(alice, { filename: "b.txt", size: 5, type: "text/plain" });
      assert.equal(errorCondition(after), "not-acceptable");
    } finally {
      alice.close();
    }
  } finally {
    await server.stop();
  }
});

Deno.test("reload: an admin removed from the config loses the status page's live view at once", async () => {
  const admins = (list: string[]) => ({ admins: list, status: { refreshSeconds: 1 } });
  const server = await startTestServer(admins(["alice@localhost"]));
  try {
    const cookie = await loginCookie(server, "alice@localhost", "wonderland");
    const res = await fetch(statusUrl(server, "/status/events"), { headers: { cookie } });
    assert.equal(res.status, 200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const readUntil = async (done: (t: string) => boolean, reads = 20) => {
      for (let i = 0; i < reads && !done(text); i++) {
        const chunk = await reader.read();
        if (chunk.done) return;
        text += chunk.value;
      }
    };
    await readUntil((t) => t.includes("event: status\n"));
    const report = await server.reload(configFor(server, admins([])));
    assert.equal(report.ok, true, report.error);
    assert.deepEqual(report.needsRestart, []);
    text = "";
    // The next tick ends the view (the page then asks for a login, refused).
    await readUntil((t) => t.includes("event: expired\n"), 5);
    await reader.cancel();
    assert.match(text, /event: expired\n/);
    assert.equal((await statusData(server, cookie)).status, 401);
  } finally {
    await server.stop();
  }
});

Deno.test("reload: a host added by a reload is one of ours for the offline box's per-domain share", async () => {
  const offline = { maxMessages: 10, maxMessagesPerSender: 2, maxPercentPerOtherDomain: 10 };
  const server = await startTestServer({ offline }, { alice: "wonderland", bob: "builder" });
  try {
    const report = await server.reload(
      configFor(server, { hosts: ["localhost", "b.example"], offline }),
    );
    assert.equal(report.ok, true, report.error);
    assert.deepEqual(report.needsRestart, []);
    // A stranger domain would get one message (10 % of 10); b.example is served here now.
    const stored = () => server.storage.archive("localhost", "offline").count("bob");
    for (const [i, user] of ["dora", "erin"].entries()) {
      await server.auth.createUser("b.example", user, "explorer");
      const c = await TestClient.login({
        port: server.ports.c2s,
        domain: "b.example",
        user,
        password: "explorer",
        resource: "r",
      });
      try {
        c.send(`<message to='bob@localhost' type='chat' id='m'><body>hi</body></message>`);
        // Bounded wait for it to be stored (a refusal would leave the count short).
        for (let tries = 0; tries < 500 && await stored() !== i + 1; tries++) {
          await new Promise((r) => setTimeout(r, 10));
        }
        assert.equal(await stored(), i + 1, `${user}'s message stored`);
      } finally {
        c.close();
      }
    }
  } finally {
    await server.stop();
  }
});
