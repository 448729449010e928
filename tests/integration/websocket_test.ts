/**
 * XMPP over WebSocket (RFC 7395) over real sockets: a WebSocket client
 * logs in (SCRAM, PLAIN), binds and talks with a TCP client; the upgrade
 * request's checks (subprotocol, Origin, connection caps); the framing's
 * errors (several or partial elements per message, bad XML, binary
 * messages, unknown framing elements, the parser's limits), each a stream
 * error then `<close/>`; and the close sequence from the client.
 */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { wsUrl } from "../helpers/websocket_server.ts";
import { WsTestClient } from "../helpers/websocket_client.ts";
import { NS_FRAMING } from "../../src/stream/websocket/framing.ts";
import type { Element } from "../../src/xml/element.ts";
import type { Json } from "../../src/storage/types.ts";

const OPEN = `<open xmlns='${NS_FRAMING}' to='localhost' version='1.0'/>`;

async function withServer(
  fn: (server: TestServer, ws: { url: string }) => Promise<void>,
  overrides: Record<string, unknown> = {},
): Promise<void> {
  const server = await startTestServer(overrides);
  try {
    await fn(server, { url: wsUrl(server) });
  } finally {
    await server.stop();
  }
}

const bodyIs = (text: string) => (e: Element) =>
  e.name === "message" && e.getChildText("body") === text;

Deno.test("a WebSocket client logs in with SCRAM and exchanges messages with a TCP client", () =>
  withServer(async (server, ws) => {
    const alice = await WsTestClient.login(ws.url, { user: "alice", password: "wonderland" });
    const bob = await TestClient.login({
      port: server.ports.c2s,
      user: "bob",
      password: "builder",
    });
    try {
      assert.match(alice.jid!, /^alice@localhost\//);
      alice.send(
        `<message xmlns='jabber:client' to='${bob.jid}' type='chat'><body>hi bob</body></message>`,
      );
      const got = await bob.stanza(bodyIs("hi bob"));
      assert.equal(got.attrs.from, alice.jid);
      bob.send(`<message to='${alice.jid}' type='chat'><body>hi alice</body></message>`);
      const back = await alice.next(bodyIs("hi alice"));
      assert.equal(back.attrs.from, bob.jid);
      // Each message is a standalone document: the stanza carries its namespace.
      assert.ok(
        alice.messages.some((m) => m.startsWith("<message xmlns='jabber:client'")),
        alice.messages.join("\n"),
      );
      await alice.close();
    } finally {
      alice.abort();
      bob.close();
    }
  }));

Deno.test("a WebSocket client logs in with PLAIN; a wrong password fails", () =>
  withServer(async (_server, ws) => {
    const c = await WsTestClient.connect(ws.url);
    try {
      await c.open();
      assert.ok(c.mechanisms().includes("PLAIN"));
      assert.equal((await c.auth("PLAIN", "alice", "nope")).name, "failure");
      assert.equal((await c.auth("PLAIN", "alice", "wonderland")).name, "success");
      await c.open();
      assert.equal((await c.bind("web")).attrs.type, "result");
      assert.equal(c.jid, "alice@localhost/web");
    } finally {
      c.abort();
    }
  }));

/** The upgrade was answered with HTTP `status` (as the WebSocket's error reports it). */
const refusedWith = (status: number) => new RegExp(`Invalid status code: ${status}\\b`);

Deno.test("the upgrade needs the xmpp subprotocol; a plain GET gets 426", () =>
  withServer(async (_server, ws) => {
    // Refused by the server (400), not merely failed on the client's side.
    await assert.rejects(WsTestClient.connect(ws.url, { protocols: [] }), refusedWith(400));
    await assert.rejects(
      WsTestClient.connect(ws.url, { protocols: ["mqtt"] }),
      refusedWith(400),
    );
    const res = await fetch(ws.url.replace("ws:", "http:"));
    assert.equal(res.status, 426);
    await res.body?.cancel();
    // Among other offered subprotocols, xmpp is picked.
    const c = await WsTestClient.connect(ws.url, { protocols: ["mqtt", "xmpp"] });
    assert.equal(c.ws.protocol, "xmpp");
    c.abort();
  }));

Deno.test("Origin policy: same host or none by default, else only the configured origins", () =>
  withServer(async (_server, ws) => {
    const host = new URL(ws.url).host;
    await assert.rejects(
      WsTestClient.connect(ws.url, { headers: { origin: "https://evil.example" } }),
      refusedWith(403),
    );
    const same = await WsTestClient.connect(ws.url, { headers: { origin: `http://${host}` } });
    same.abort();
    const listed = await WsTestClient.connect(ws.url, {
      headers: { origin: "https://chat.example" },
    });
    listed.abort();
    await assert.rejects(
      WsTestClient.connect(ws.url, { headers: { origin: "https://chat.example.evil" } }),
      refusedWith(403),
    );
  }, { websocket: { allowedOrigins: ["https://chat.example"] } }));

/** Open a stream, send `message` (a string, or bytes as a binary message), expect `condition`. */
async function streamErrorFor(
  url: string,
  message: string | Uint8Array,
  condition: string,
): Promise<void> {
  const c = await WsTestClient.connect(url);
  try {
    await c.open();
    c.ws.send(message);
    assert.equal(await c.streamError(), condition, String(message));
    await c.closeElement();
    // The server closes the WebSocket after its <close/> (the peer's answer or a short grace).
    c.send(`<close xmlns='${NS_FRAMING}'/>`);
    await c.waitClosed();
  } finally {
    c.abort();
  }
}

Deno.test("framing errors: several, partial or malformed elements, binary, unknown framing", () =>
  withServer(async (_server, ws) => {
    const iq = "<iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>";
    await streamErrorFor(ws.url, iq + iq, "not-well-formed");
    await streamErrorFor(ws.url, "<iq type='get' id='1'>", "not-well-formed");
    await streamErrorFor(ws.url, iq + "<iq", "not-well-formed");
    await streamErrorFor(ws.url, "<message><body>x</message>", "not-well-formed");
    await streamErrorFor(ws.url, iq + " trailing text", "not-well-formed");
    await streamErrorFor(ws.url, "<!-- hi --><iq/>", "restricted-xml");
    await streamErrorFor(ws.url, new TextEncoder().encode(iq), "bad-format");
    await streamErrorFor(ws.url, `<restart xmlns='${NS_FRAMING}'/>`, "unsupported-stanza-type");
    await streamErrorFor(ws.url, OPEN, "invalid-xml");
    await streamErrorFor(ws.url, "<stream:error><x/></stream:error>", "bad-namespace-prefix");
  }));

Deno.test("a stream error before the stream opened still comes after our <open/>", () =>
  withServer(async (_server, ws) => {
    const c = await WsTestClient.connect(ws.url);
    try {
      c.send(`<open xmlns='${NS_FRAMING}' to='nowhere.example' version='1.0'/>`);
      assert.equal(await c.streamError(), "host-unknown");
      assert.match(c.messages[0], /^<open xmlns='urn:ietf:params:xml:ns:xmpp-framing'/);
      assert.match(c.messages[1], /^<stream:error xmlns:stream='http:\/\/etherx.jabber.org/);
      await c.closeElement();
    } finally {
      c.abort();
    }
  }));

Deno.test("deep nesting and oversized messages end the stream with policy-violation", () =>
  withServer(async (_server, ws) => {
    const deep = "<a>".repeat(40) + "</a>".repeat(40);
    await streamErrorFor(ws.url, `<message>${deep}</message>`, "policy-violation");
    const big = "x".repeat(5000);
    await streamErrorFor(ws.url, `<message><body>${big}</body></message>`, "policy-violation");
  }, { c2s: { maxStanzaSize: 4096 } }));

Deno.test("<close/> from the client ends the session cleanly: contacts see it go", () =>
  withServer(async (server, ws) => {
    const roster = server.storage.keyval("localhost", "roster");
    const item = (jid: string) => ({ jid, subscription: "both", groups: [] });
    await roster.set("alice", {
      version: 1,
      items: [item("bob@localhost")] as Json[],
      pending: {},
    });
    await roster.set("bob", {
      version: 1,
      items: [item("alice@localhost")] as Json[],
      pending: {},
    });
    const bob = await TestClient.login({
      port: server.ports.c2s,
      user: "bob",
      password: "builder",
    });
    const alice = await WsTestClient.login(ws.url, { user: "alice", password: "wonderland" });
    try {
      await bob.stanza((e) => e.name === "presence" && e.attrs.from === alice.jid && !e.attrs.type);
      await alice.close();
      assert.equal(alice.closeCode, 1000);
      const gone = await bob.stanza((e) => e.name === "presence" && e.attrs.from === alice.jid);
      assert.equal(gone.attrs.type, "unavailable");
      assert.equal(server.sessions.live.size, 1);
    } finally {
      alice.abort();
      bob.close();
    }
  }));

Deno.test("WebSocket sessions count in the client connection caps with TCP ones", () =>
  withServer(async (server, ws) => {
    const tcp = await TestClient.connect({ port: server.ports.c2s });
    const first = await WsTestClient.connect(ws.url);
    try {
      // Two unauthenticated connections from 127.0.0.1 (one TCP, one WebSocket): the cap.
      await assert.rejects(WsTestClient.connect(ws.url), refusedWith(429));
      // Once the WebSocket one authenticates it no longer counts as unauthenticated.
      await first.open();
      assert.equal((await first.auth("PLAIN", "alice", "wonderland")).name, "success");
      const second = await WsTestClient.connect(ws.url);
      second.abort();
    } finally {
      first.abort();
      tcp.close();
    }
  }, { c2s: { maxUnauthenticatedPerIp: 2 } }));

Deno.test("over the read rate messages wait; a client that keeps flooding is closed", () =>
  withServer(async (_server, ws) => {
    const c = await WsTestClient.login(ws.url, { user: "alice", password: "wonderland" });
    try {
      // Far more messages than the input may hold while the rate holds them back.
      for (let i = 0; i < 1500 && !c.closed; i++) {
        c.send(`<presence xmlns='jabber:client'><status>${i}</status></presence>`);
      }
      assert.equal(await c.streamError(), "policy-violation");
    } finally {
      c.abort();
    }
  }, { c2s: { readRateBytesPerSecond: 1024, readBurstBytes: 8192 } }));
