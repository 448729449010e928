/**
 * External components (XEP-0114): a small component written here over a
 * raw socket (header, handshake, stanzas) against a real server.
 */
import assert from "node:assert/strict";
import { component, xml } from "@xmpp/component";
import { TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { handshakeDigest, openComponent } from "../helpers/component.ts";
import { startServerProcess } from "../helpers/server_process.ts";
import { NS } from "../../src/xml/namespaces.ts";

type XmlElement = ReturnType<typeof xml>;

const COMPONENT = "bots.localhost";
const SECRET = "s3cret";

function start(): Promise<TestServer> {
  return startTestServer({ components: { [COMPONENT]: { secret: SECRET } } });
}

function login(server: TestServer, user: string) {
  const password = user === "alice" ? "wonderland" : "builder";
  return TestClient.login({ port: server.ports.c2s, user, password, resource: "r" });
}

/** A component past its handshake. */
async function connectComponent(server: TestServer): Promise<TestClient> {
  const { c, id } = await openComponent(server, COMPONENT);
  c.send(`<handshake>${handshakeDigest(id, SECRET)}</handshake>`);
  const ok = await c.stanza((e) => e.name === "handshake");
  assert.equal(ok.children.length, 0, "an empty <handshake/> on success");
  return c;
}

Deno.test("component: the handshake with the shared secret succeeds", async () => {
  const server = await start();
  try {
    const { c, id } = await openComponent(server, COMPONENT);
    assert.ok(id.length > 0, "the reply header carries a stream id");
    c.send(`<handshake>${handshakeDigest(id, SECRET).toUpperCase()}</handshake>`);
    await c.stanza((e) => e.name === "handshake");
    c.send("</stream:stream>");
    await c.waitClosed();
  } finally {
    await server.stop();
  }
});

Deno.test("component: a wrong secret gets not-authorized", async () => {
  const server = await start();
  try {
    const { c, id } = await openComponent(server, COMPONENT);
    c.send(`<handshake>${handshakeDigest(id, "wrong")}</handshake>`);
    assert.equal(await c.streamError(), "not-authorized");
    await c.waitClosed();
  } finally {
    await server.stop();
  }
});

Deno.test("component: an unconfigured domain gets host-unknown", async () => {
  const server = await start();
  try {
    const { c } = await openComponent(server, "other.localhost");
    assert.equal(await c.streamError(), "host-unknown");
    await c.waitClosed();
  } finally {
    await server.stop();
  }
});

Deno.test("component: stanzas before the handshake get not-authorized", async () => {
  const server = await start();
  try {
    const { c } = await openComponent(server, COMPONENT);
    c.send(`<message from='bot@${COMPONENT}' to='alice@localhost'><body>x</body></message>`);
    assert.equal(await c.streamError(), "not-authorized");
  } finally {
    await server.stop();
  }
});

Deno.test("component: a second stream for a connected component gets conflict", async () => {
  const server = await start();
  try {
    const first = await connectComponent(server);
    const { c, id } = await openComponent(server, COMPONENT);
    c.send(`<handshake>${handshakeDigest(id, SECRET)}</handshake>`);
    assert.equal(await c.streamError(), "conflict");
    // The first one is still the component.
    const alice = await login(server, "alice");
    alice.send(`<message to='x@${COMPONENT}' id='m'><body>still</body></message>`);
    const got = await first.stanza((e) => e.name === "message");
    assert.equal(got.getChildText("body"), "still");
    alice.close();
    first.close();
  } finally {
    await server.stop();
  }
});

Deno.test("component: messages flow both ways between a user and the component", async () => {
  const server = await start();
  try {
    const comp = await connectComponent(server);
    const alice = await login(server, "alice");
    await alice.stanza((e) => e.name === "presence"); // own presence reflected
    alice.send(`<message to='x@${COMPONENT}' type='chat' id='m1'><body>hello bot</body></message>`);
    const inbound = await comp.stanza((e) => e.name === "message");
    assert.equal(inbound.attrs.from, "alice@localhost/r");
    assert.equal(inbound.attrs.to, `x@${COMPONENT}`);
    assert.equal(inbound.getChildText("body"), "hello bot");
    assert.equal(inbound.attrs.xmlns, undefined, "in the stream's default namespace");

    comp.send(
      `<message from='bot@${COMPONENT}' to='alice@localhost/r' type='chat'><body>hi</body></message>`,
    );
    const reply = await alice.stanza((e) => e.name === "message");
    assert.equal(reply.attrs.from, `bot@${COMPONENT}`);
    assert.equal(reply.getChildText("body"), "hi");

    // Subdomains of the component are the component's too, both ways.
    comp.send(
      `<message from='gw@sub.${COMPONENT}' to='alice@localhost' type='chat'><body>sub</body></message>`,
    );
    const sub = await alice.stanza((e) => e.name === "message");
    assert.equal(sub.attrs.from, `gw@sub.${COMPONENT}`);
    alice.send(
      `<iq to='sub.${COMPONENT}' type='get' id='q1'><query xmlns='${NS.discoInfo}'/></iq>`,
    );
    const iq = await comp.stanza((e) => e.name === "iq");
    assert.equal(iq.attrs.to, `sub.${COMPONENT}`);
    assert.equal(iq.attrs.from, "alice@localhost/r");
    comp.send(
      `<iq from='sub.${COMPONENT}' to='alice@localhost/r' type='result' id='q1'>` +
        `<query xmlns='${NS.discoInfo}'><identity category='gateway' type='irc'/></query></iq>`,
    );
    const result = await alice.stanza((e) => e.name === "iq" && e.attrs.id === "q1");
    assert.equal(result.attrs.type, "result");
    assert.equal(result.attrs.from, `sub.${COMPONENT}`);

    // No from: stamped with the component's domain.
    comp.send(`<message to='alice@localhost/r'><body>anon</body></message>`);
    const stamped = await alice.stanza((e) => e.name === "message");
    assert.equal(stamped.attrs.from, COMPONENT);
    alice.close();
    comp.close();
  } finally {
    await server.stop();
  }
});

Deno.test("component: an iq to an offline user bounces back to the component", async () => {
  const server = await start();
  try {
    const comp = await connectComponent(server);
    comp.send(
      `<iq from='bot@${COMPONENT}/x' to='bob@localhost/gone' type='get' id='p1'>` +
        `<ping xmlns='urn:xmpp:ping'/></iq>`,
    );
    const err = await comp.stanza((e) => e.name === "iq" && e.attrs.id === "p1");
    assert.equal(err.attrs.type, "error");
    assert.equal(err.attrs.to, `bot@${COMPONENT}/x`);
    comp.send(`<message from='bot@${COMPONENT}'><body>no to</body></message>`);
    const bad = await comp.stanza((e) => e.name === "message");
    assert.equal(bad.attrs.type, "error");
    assert.ok(bad.getChild("error")?.getChild("bad-request", NS.stanzas));
    comp.close();
  } finally {
    await server.stop();
  }
});

Deno.test("component: a spoofed from gets invalid-from", async () => {
  const server = await start();
  try {
    const comp = await connectComponent(server);
    const alice = await login(server, "alice");
    comp.send(
      `<message from='bob@localhost' to='alice@localhost/r' type='chat'><body>me, bob</body></message>`,
    );
    assert.equal(await comp.streamError(), "invalid-from");
    await comp.waitClosed();
    await alice.nothing((e) => e.name === "message");
    // A look-alike suffix is not a subdomain either.
    const again = await connectComponent(server);
    again.send(`<message from='x@evil${COMPONENT}' to='alice@localhost/r'/>`);
    assert.equal(await again.streamError(), "invalid-from");
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("component: the host's disco#items lists the component", async () => {
  const server = await start();
  try {
    const alice = await login(server, "alice");
    alice.send(`<iq to='localhost' type='get' id='d1'><query xmlns='${NS.discoItems}'/></iq>`);
    const res = await alice.stanza((e) => e.name === "iq" && e.attrs.id === "d1");
    const jids = res.getChild("query", NS.discoItems)!.getChildren("item").map((i) => i.attrs.jid);
    assert.ok(jids.includes(COMPONENT), `items: ${jids.join(", ")}`);
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("component: the server answers the component's own iqs (disco, version, ping)", async () => {
  const server = await start();
  try {
    const bot = await connectComponent(server);
    bot.send(
      `<iq from='${COMPONENT}' to='localhost' type='get' id='q1'><query xmlns='${NS.discoInfo}'/></iq>`,
    );
    const info = await bot.stanza((e) => e.name === "iq" && e.attrs.id === "q1");
    assert.equal(info.attrs.type, "result");
    assert.equal(info.attrs.to, COMPONENT);
    assert.equal(info.attrs.from, "localhost");
    assert.ok(info.getChild("query", NS.discoInfo)?.getChild("identity"));
    bot.send(
      `<iq from='${COMPONENT}' to='localhost' type='get' id='q2'><ping xmlns='urn:xmpp:ping'/></iq>`,
    );
    assert.equal((await bot.stanza((e) => e.attrs.id === "q2")).attrs.type, "result");
    bot.close();
  } finally {
    await server.stop();
  }
});

Deno.test("component: stanzas to a disconnected component bounce service-unavailable", async () => {
  const server = await start();
  try {
    const alice = await login(server, "alice");
    alice.send(`<message to='x@${COMPONENT}' id='m1'><body>anyone?</body></message>`);
    const bounce = await alice.stanza((e) => e.name === "message" && e.attrs.id === "m1");
    assert.equal(bounce.attrs.type, "error");
    assert.ok(bounce.getChild("error")?.getChild("service-unavailable", NS.stanzas));
    // After a component came and went, the same.
    const comp = await connectComponent(server);
    comp.send("</stream:stream>");
    await comp.waitClosed();
    alice.send(`<iq to='${COMPONENT}' type='get' id='i1'><query xmlns='${NS.discoInfo}'/></iq>`);
    const iq = await alice.stanza((e) => e.name === "iq" && e.attrs.id === "i1");
    assert.equal(iq.attrs.type, "error");
    assert.ok(iq.getChild("error")?.getChild("service-unavailable", NS.stanzas));
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("component: @xmpp/component connects and exchanges messages", async () => {
  const server = await start();
  const xmpp = component({
    service: `xmpp://127.0.0.1:${server.ports.component}`,
    domain: COMPONENT,
    password: SECRET,
  });
  try {
    const online = new Promise<void>((resolve) => xmpp.once("online", () => resolve()));
    const inbound = new Promise<XmlElement>((resolve) =>
      xmpp.on("stanza", (s: XmlElement) => s.is("message") && resolve(s))
    );
    xmpp.on("error", () => {});
    await xmpp.start();
    await online;
    const alice = await login(server, "alice");
    alice.send(`<message to='echo@${COMPONENT}' type='chat'><body>ping</body></message>`);
    const got = await inbound;
    assert.equal(got.attrs.from, "alice@localhost/r");
    assert.equal(got.getChildText("body"), "ping");
    await xmpp.send(
      xml(
        "message",
        { from: `echo@${COMPONENT}`, to: got.attrs.from, type: "chat" },
        xml("body", {}, "pong"),
      ),
    );
    const reply = await alice.stanza((e) => e.name === "message");
    assert.equal(reply.attrs.from, `echo@${COMPONENT}`);
    assert.equal(reply.getChildText("body"), "pong");
    alice.close();
  } finally {
    await xmpp.stop().catch(() => {});
    await server.stop();
  }
});

Deno.test({
  name: "component: failed handshakes from one address are logged once per window",
  // The server runs as a child process; its stderr pipe is read to the end.
  sanitizeResources: false,
  fn: async () => {
    const server = await startServerProcess({
      listeners: { component: { interfaces: ["127.0.0.1"], port: 0 } },
      components: { [COMPONENT]: { secret: SECRET } },
    });
    try {
      // The helper waits for the client listeners only: the component one may log later.
      for (let i = 0; i < 100 && !server.ports["component"]; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      for (let i = 0; i < 4; i++) {
        const c = await TestClient.connect({ port: server.ports["component"] });
        c.send(
          `<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' ` +
            `xmlns:stream='http://etherx.jabber.org/streams' to='${COMPONENT}'>`,
        );
        await c.next((f) => f.kind === "open");
        c.send(`<handshake>${"0".repeat(40)}</handshake>`);
        assert.equal(await c.streamError(), "not-authorized");
        c.close();
      }
      await new Promise((r) => setTimeout(r, 200));
      const lines = server.log().split("\n").filter((l) => l.includes("handshake failed"));
      assert.equal(lines.length, 1, lines.join("\n"));
    } finally {
      await server.stop();
    }
  },
});

Deno.test("component: offline storage's per-sender and byte limits hold for its messages", async () => {
  const server = await startTestServer({
    components: { [COMPONENT]: { secret: SECRET } },
    offline: { maxMessagesPerSender: 2, maxBytes: 3000, maxPercentPerOtherDomain: 100 },
    // Byte budgets are counted for messages as sent: no archive stanza-id added.
    mam: { default: "never" },
  });
  try {
    const c = await connectComponent(server);
    const send = (from: string, id: string, size: number) =>
      c.send(
        `<message from='${from}' to='bob@localhost' type='chat' id='${id}'>` +
          `<body>${"x".repeat(size)}</body></message>`,
      );
    const count = () => server.storage.archive("localhost", "offline").count("bob");
    const bounced = async (id: string) => {
      const err = await c.stanza((e) => e.attrs.id === id);
      assert.equal(err.attrs.type, "error");
      assert.ok(err.getChild("error")?.getChild("service-unavailable", NS.stanzas));
    };
    send(`a@${COMPONENT}`, "p1", 10);
    send(`a@${COMPONENT}`, "p2", 10);
    send(`a@${COMPONENT}`, "p3", 10);
    await bounced("p3");
    assert.equal(await count(), 2);
    send(`b@${COMPONENT}`, "q1", 2500);
    send(`b@${COMPONENT}`, "q2", 500);
    await bounced("q2");
    assert.equal(await count(), 3);
    c.close();
  } finally {
    await server.stop();
  }
});
