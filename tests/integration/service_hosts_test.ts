/**
 * Service hosts (internal components): `conference.<domain>` served by a
 * test service module (tests/helpers/test_service.ts) standing in for
 * `muc`, reached by local clients, listed in the parent's disco#items,
 * answered per RFC where the service is silent, reachable over s2s and
 * from an external component, and never a login domain.
 */
import assert from "node:assert/strict";
import { errorCondition, iq, TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { loginAt, serverPair } from "../helpers/federation.ts";
import { connectComponent } from "../helpers/component.ts";
import { NS_ECHO, SERVICE_OPTIONS } from "../helpers/test_service.ts";
import { NS } from "../../src/xml/namespaces.ts";

const SERVICE = "conference.localhost";

/** The test service as `muc`; pubsub and upload off, so the results do not depend on whether they are built. */
function start(overrides: Record<string, unknown> = {}): Promise<TestServer> {
  return startTestServer(
    { pubsub: { enabled: false }, upload: { enabled: false }, ...overrides },
    undefined,
    SERVICE_OPTIONS,
  );
}

function login(server: TestServer, user = "alice") {
  const password = user === "alice" ? "wonderland" : "builder";
  return TestClient.login({ port: server.ports.c2s, user, password, resource: "r" });
}

const echo = (id: string, to: string) =>
  `<iq type='get' id='${id}' to='${to}'><echo xmlns='${NS_ECHO}'/></iq>`;

Deno.test("service hosts: the service answers iq, message and presence; the parent lists it", async () => {
  const server = await start();
  const alice = await login(server);
  try {
    const host = server.hosts.get(SERVICE)!;
    assert.equal(host.kind, "service");
    assert.equal(host.parent, "localhost");
    assert.equal(server.hosts.get("localhost")!.kind, "user");
    assert.equal(server.hosts.has("pubsub.localhost"), false);

    const r1 = await iq(alice, "e1", echo("e1", SERVICE));
    assert.equal(r1.attrs.type, "result");
    assert.equal(r1.attrs.from, SERVICE);
    assert.equal(r1.getChild("echo", NS_ECHO)?.attrs.to, "host");
    const r2 = await iq(alice, "e2", echo("e2", `room@${SERVICE}`));
    assert.equal(r2.attrs.from, `room@${SERVICE}`);
    assert.equal(r2.getChild("echo", NS_ECHO)?.attrs.to, "bare");

    alice.send(`<message to='room@${SERVICE}' type='groupchat' id='m1'><body>hi</body></message>`);
    const m = await alice.stanza((e) => e.name === "message" && e.attrs.id === "m1");
    assert.equal(m.attrs.from, `room@${SERVICE}`);
    assert.equal(m.getChildText("body"), "echo: hi");

    alice.send(`<presence to='room@${SERVICE}/alice' id='p1'/>`);
    const p = await alice.stanza((e) => e.name === "presence" && e.attrs.id === "p1");
    assert.equal(p.attrs.from, `room@${SERVICE}/alice`);

    const items = await iq(
      alice,
      "d1",
      `<iq type='get' id='d1' to='localhost'><query xmlns='${NS.discoItems}'/></iq>`,
    );
    const jids = items.getChild("query", NS.discoItems)!.getChildren("item").map((i) =>
      i.attrs.jid
    );
    assert.deepEqual(jids, [SERVICE]);
    const info = await iq(
      alice,
      "d2",
      `<iq type='get' id='d2' to='${SERVICE}'><query xmlns='${NS.discoInfo}'/></iq>`,
    );
    assert.equal(
      info.getChild("query", NS.discoInfo)!.getChild("identity")!.attrs.category,
      "conference",
    );
  } finally {
    alice.close();
    await server.stop();
  }
});

Deno.test("service hosts: what the service leaves is answered per RFC, never delivered as to users", async () => {
  const server = await start();
  const alice = await login(server);
  try {
    // iq get/set nobody handles, to the service, an address at it or a full JID under
    // it: service-unavailable. A user host's modules (ping, version) are not there.
    const cases: [string, string][] = [
      ["q1", `<iq type='get' id='q1' to='${SERVICE}'><ping xmlns='urn:xmpp:ping'/></iq>`],
      ["q2", `<iq type='get' id='q2' to='${SERVICE}'><query xmlns='jabber:iq:version'/></iq>`],
      ["q3", `<iq type='set' id='q3' to='room@${SERVICE}'><x xmlns='urn:test:none'/></iq>`],
      ["q4", `<iq type='get' id='q4' to='room@${SERVICE}/nick'><echo xmlns='${NS_ECHO}'/></iq>`],
      ["q5", `<iq type='get' id='q5' to='${SERVICE}'><query xmlns='jabber:iq:roster'/></iq>`],
    ];
    for (const [id, xml] of cases) {
      const r = await iq(alice, id, xml);
      assert.equal(r.attrs.type, "error", id);
      assert.equal(errorCondition(r), "service-unavailable", id);
      assert.equal(r.attrs.from, xml.match(/to='([^']+)'/)![1], id);
    }
    // Messages the service does not take: service-unavailable (errors never answered).
    alice.send(`<message to='${SERVICE}' id='m1'><body>to the service</body></message>`);
    alice.send(`<message to='room@${SERVICE}/nick' type='chat' id='m2'><body>pm</body></message>`);
    alice.send(`<message to='room@${SERVICE}' id='m3'><subject>no body</subject></message>`);
    for (const id of ["m1", "m2", "m3"]) {
      const r = await alice.stanza((e) => e.name === "message" && e.attrs.id === id);
      assert.equal(r.attrs.type, "error", id);
      assert.equal(errorCondition(r), "service-unavailable", id);
    }
    // A subscription request is refused; other presence is ignored (RFC 6121 §8.5.1).
    alice.send(`<presence to='room@${SERVICE}' type='subscribe' id='s1'/>`);
    const s = await alice.stanza((e) => e.name === "presence" && e.attrs.id === "s1");
    assert.equal(s.attrs.type, "error");
    assert.equal(errorCondition(s), "service-unavailable");
    alice.send(`<presence to='${SERVICE}' id='s2'/>`);
    alice.send(`<presence to='room@${SERVICE}/nick' type='unavailable' id='s3'/>`);
    alice.send(`<message to='room@${SERVICE}' type='error' id='e1'/>`);
    alice.send(`<iq to='${SERVICE}' type='result' id='r1'/>`);
    await alice.nothing((e) => ["s2", "s3", "e1", "r1"].includes(e.attrs.id ?? ""), 300);
  } finally {
    alice.close();
    await server.stop();
  }
});

Deno.test("service hosts: no login to a service domain (host-unknown)", async () => {
  const server = await start();
  try {
    const c = await TestClient.connect({ port: server.ports.c2s, domain: SERVICE });
    c.send(
      `<?xml version='1.0'?><stream:stream xmlns='jabber:client' ` +
        `xmlns:stream='http://etherx.jabber.org/streams' to='${SERVICE}' version='1.0'>`,
    );
    assert.equal(await c.streamError(), "host-unknown");
    await c.waitClosed();
    // And no accounts there: the test server made alice only on localhost.
    assert.equal(await server.auth.userExists(SERVICE, "alice"), false);
  } finally {
    await server.stop();
  }
});

Deno.test("service hosts: off with muc.enabled false, or when no module serves it", async () => {
  const off = await start({ muc: { enabled: false } });
  try {
    assert.equal(off.hosts.has(SERVICE), false);
  } finally {
    await off.stop();
  }
  // A service whose module is not in the build is not served (logged), whatever the config.
  const plain = await startTestServer({}, undefined, {
    serviceModules: {
      muc: ["no_such_module"],
      pubsub: ["no_such_module"],
      upload: ["no_such_module"],
    },
  });
  try {
    assert.deepEqual([...plain.hosts.keys()], ["localhost"]);
  } finally {
    await plain.stop();
  }
  // The domain template, per hosted domain.
  const two = await startTestServer(
    {
      hosts: ["localhost", "example.test"],
      muc: { domain: "rooms.{domain}" },
      pubsub: { enabled: false },
      upload: { enabled: false },
    },
    undefined,
    SERVICE_OPTIONS,
  );
  try {
    assert.equal(two.hosts.get("rooms.localhost")?.parent, "localhost");
    assert.equal(two.hosts.get("rooms.example.test")?.parent, "example.test");
    assert.deepEqual(
      two.hosts.get("example.test")!.services.map((h) => h.domain),
      ["rooms.example.test"],
    );
  } finally {
    await two.stop();
  }
});

Deno.test("service hosts: reachable over s2s both ways, as their own domain", async () => {
  const [a, b] = await serverPair(
    { pubsub: { enabled: false } },
    {},
    ["conference.a.test"],
    SERVICE_OPTIONS,
  );
  const bob = await loginAt(b, "bob", "builder", "b.test");
  try {
    assert.equal(a.hosts.get("conference.a.test")?.kind, "service");
    // b.test → conference.a.test (incoming at a), the answer conference.a.test → b.test
    // on a stream authenticated for the service domain.
    const r = await iq(bob, "x1", echo("x1", "room@conference.a.test"));
    assert.equal(r.attrs.type, "result", r.toString());
    assert.equal(r.attrs.from, "room@conference.a.test");
    bob.send(
      `<message to='room@conference.a.test' type='groupchat' id='x2'><body>far</body></message>`,
    );
    const m = await bob.stanza((e) => e.name === "message" && e.attrs.id === "x2");
    assert.equal(m.getChildText("body"), "echo: far");
    assert.equal(m.attrs.from, "room@conference.a.test");
    assert.equal(a.s2s!.manager.outgoing("conference.a.test", "b.test")?.ready, true);
    // Unhandled from afar: the same service-unavailable.
    const u = await iq(
      bob,
      "x3",
      `<iq type='get' id='x3' to='conference.a.test'><ping xmlns='urn:xmpp:ping'/></iq>`,
    );
    assert.equal(errorCondition(u), "service-unavailable");
    assert.equal(u.attrs.from, "conference.a.test");
  } finally {
    bob.close();
    await a.stop();
    await b.stop();
  }
});

Deno.test("service hosts: an external component reaches the service, and the answer reaches it", async () => {
  const server = await start({ components: { "bots.localhost": { secret: "s3cret" } } });
  const bot = await connectComponent(server, "bots.localhost", "s3cret");
  try {
    const r = await iq(
      bot,
      "c1",
      `<iq type='get' id='c1' from='bot@bots.localhost' to='room@${SERVICE}'>` +
        `<echo xmlns='${NS_ECHO}'/></iq>`,
    );
    assert.equal(r.attrs.type, "result");
    assert.equal(r.attrs.from, `room@${SERVICE}`);
    assert.equal(r.attrs.to, "bot@bots.localhost");
    bot.send(
      `<message from='bot@bots.localhost' to='room@${SERVICE}' id='c2'><body>b</body></message>`,
    );
    const m = await bot.stanza((e) => e.name === "message" && e.attrs.id === "c2");
    assert.equal(m.getChildText("body"), "echo: b");
    const u = await iq(
      bot,
      "c3",
      `<iq type='set' id='c3' from='bot@bots.localhost' to='${SERVICE}'><x xmlns='urn:none'/></iq>`,
    );
    assert.equal(errorCondition(u), "service-unavailable");
  } finally {
    bot.close();
    await server.stop();
  }
});

Deno.test("service hosts: a component configured on the service domain replaces the service", async () => {
  const server = await start({ components: { [SERVICE]: { secret: "s3cret" } } });
  try {
    assert.equal(server.hosts.has(SERVICE), false);
  } finally {
    await server.stop();
  }
});
