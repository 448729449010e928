/** Review of the HTTP transports: hostile WebSocket and BOSH clients over real sockets. */
import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/client.ts";
import { RawWebSocket } from "../helpers/raw_websocket.ts";
import { WEBSOCKET_PATH } from "../../src/http/host_meta.ts";

const FRAMING = "urn:ietf:params:xml:ns:xmpp-framing";
const OPEN = `<open xmlns='${FRAMING}' to='localhost' version='1.0'/>`;

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  for (let waited = 0; !check(); waited += 20) {
    if (waited >= ms) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Bob over a raw WebSocket, logged in and available, all sent without reading an answer. */
async function rawWsLogin(port: number): Promise<RawWebSocket> {
  const ws = await RawWebSocket.connect(port, WEBSOCKET_PATH);
  for (
    const m of [
      OPEN,
      `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${
        btoa("\0bob\0builder")
      }</auth>`,
      OPEN,
      "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>",
      "<presence/>",
    ]
  ) await ws.send(m);
  return ws;
}

Deno.test("websocket: a client that never reads is cut off; its connection ends and frees its slot", async () => {
  const server = await startTestServer({
    c2s: { maxOutputBytes: 64 * 1024, maxConnectionsPerIp: 2, readRateBytesPerSecond: 0 },
  });
  const port = server.ports.http;
  let bob: RawWebSocket | undefined;
  let alice: TestClient | undefined;
  try {
    bob = await rawWsLogin(port);
    await until(
      "bob is online",
      () => server.sessions.full("bob@localhost/r", "localhost") !== undefined,
    );
    alice = await TestClient.login({
      port: server.ports.c2s,
      user: "alice",
      password: "wonderland",
    });
    const body = "x".repeat(4000);
    // Far more than the output mark and what the kernel's buffers take.
    for (let i = 0; i < 3000 && server.sessions.full("bob@localhost/r", "localhost"); i++) {
      alice.send(
        `<message to='bob@localhost/r' type='headline' id='m${i}'><body>${body}</body></message>`,
      );
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 5));
    }
    await until(
      "bob's session ended",
      () => server.sessions.full("bob@localhost/r", "localhost") === undefined,
      20_000,
    );
    // The server let go of the connection: a new one from the same address fits in the cap again.
    let again: RawWebSocket | undefined;
    for (let waited = 0; !again && waited < 15_000; waited += 200) {
      again = await RawWebSocket.connect(port, WEBSOCKET_PATH).catch(() => undefined);
      if (!again) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(again, "the connection slot of the client that never read was never released");
    again.close();
    assert.ok(await bob.drainUntilEnd(15_000), "the server never closed the connection");
  } finally {
    bob?.close();
    alice?.socket.destroy();
    await server.stop();
  }
});
