/**
 * Reading held (backpressure, read rate) around a STARTTLS upgrade: the
 * handshake must always be able to read, and the hold applies to the TLS
 * socket once it exists. Before the fix, a hold taken or released while
 * the plaintext socket was being replaced could leave the TCP handle
 * stopped under the new TLS socket (or resume the plaintext socket with
 * nobody listening, dropping the ClientHello): the handshake stalled.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { SocketConnection } from "../../src/net/connection.ts";
import { generateSelfSigned } from "../../src/tls/selfsigned.ts";
import { TestClient } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { loginAt, serverPair } from "../helpers/federation.ts";

const pair = await generateSelfSigned(["localhost"]);
const context = tls.createSecureContext({ cert: pair.certPem, key: pair.keyPem });
const serverTls = {
  secureContext: context,
  SNICallback: (_: string, cb: (e: Error | null, c?: tls.SecureContext) => void) =>
    cb(null, context),
};

interface Side {
  conn: SocketConnection;
  received: () => string;
  waitFor: (text: string, ms?: number) => Promise<void>;
}

function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (cond()) return resolve();
      if (Date.now() - start > ms) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

/** A SocketConnection on the server side of a fresh 127.0.0.1 connection, and the client socket. */
async function pairUp(): Promise<{ server: Side; client: net.Socket; close: () => void }> {
  const listener = net.createServer();
  await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
  const accepted = new Promise<net.Socket>((r) => listener.once("connection", r));
  const client = net.connect({
    host: "127.0.0.1",
    port: (listener.address() as net.AddressInfo).port,
  });
  client.on("error", () => {});
  const socket = await accepted;
  const conn = new SocketConnection(socket);
  let text = "";
  const decoder = new TextDecoder();
  conn.start({ onData: (c) => text += decoder.decode(c), onClose: () => {} });
  const received = () => text;
  return {
    server: {
      conn,
      received,
      waitFor: (t, ms = 5000) => until(() => text.includes(t), ms, JSON.stringify(t)),
    },
    client,
    close: () => {
      client.destroy();
      conn.close();
      listener.close();
    },
  };
}

/** The client's half of the upgrade: wait for `<proceed/>`, handshake, send `after`. */
async function clientUpgrade(client: net.Socket): Promise<tls.TLSSocket> {
  await new Promise<void>((resolve) => {
    let got = "";
    const onData = (c: Uint8Array) => {
      got += new TextDecoder().decode(c);
      if (got.includes("<proceed/>")) {
        client.off("data", onData);
        resolve();
      }
    };
    client.on("data", onData);
  });
  const secure = tls.connect({
    socket: client,
    servername: "localhost",
    rejectUnauthorized: false,
  });
  secure.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    secure.once("secureConnect", () => resolve());
    secure.once("error", reject);
  });
  secure.write("after");
  return secure;
}

/**
 * Reading is held on the upgraded socket: the client's `after` is not read
 * until the hold is released, and is read then (so the wait proved a hold,
 * not a dead connection).
 */
async function heldUntilResumed(server: Side): Promise<void> {
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(!server.received().includes("after"), "data arrived while reading was held");
  server.conn.resume();
  await server.waitFor("after");
}

Deno.test("STARTTLS: a hold released while the socket is being replaced does not drop the handshake", async () => {
  const { server, client, close } = await pairUp();
  try {
    client.write("before");
    await server.waitFor("before");
    server.conn.pause();
    const upgraded = server.conn.startTls("<proceed/>", serverTls);
    server.conn.resume();
    const secure = clientUpgrade(client);
    await upgraded;
    await secure;
    await server.waitFor("after");
  } finally {
    close();
  }
});

Deno.test("STARTTLS: a hold taken before the upgrade lets the handshake through and holds the TLS socket", async () => {
  const { server, client, close } = await pairUp();
  try {
    client.write("before");
    await server.waitFor("before");
    server.conn.pause();
    const upgraded = server.conn.startTls("<proceed/>", serverTls);
    const secure = clientUpgrade(client);
    await upgraded;
    await secure;
    await heldUntilResumed(server);
  } finally {
    close();
  }
});

Deno.test("STARTTLS: a hold taken during the handshake applies once it is done", async () => {
  const { server, client, close } = await pairUp();
  try {
    client.write("before");
    await server.waitFor("before");
    const upgraded = server.conn.startTls("<proceed/>", serverTls);
    // Toggled at several points of the upgrade, ending held.
    server.conn.pause();
    await new Promise((r) => setTimeout(r, 0));
    server.conn.resume();
    await new Promise((r) => setTimeout(r, 0));
    server.conn.pause();
    const secure = clientUpgrade(client);
    await upgraded;
    await secure;
    await heldUntilResumed(server);
  } finally {
    close();
  }
});

/**
 * The read rate's burst is spent by the plaintext exchange, so reading is
 * held (and released by the rate's timer) right around `<starttls/>` and
 * the handshake. Several rates move the release to different moments.
 */
for (const rate of [2000, 8000, 32000]) {
  Deno.test(`STARTTLS: c2s login completes when the read rate holds reading around the upgrade (${rate} B/s)`, async () => {
    const server = await startTestServer({
      c2s: { readRateBytesPerSecond: rate, readBurstBytes: 64 },
    });
    try {
      for (let i = 0; i < 3; i++) {
        const c = await TestClient.login({
          port: server.ports.c2s,
          user: "alice",
          password: "wonderland",
          resource: `r${i}`,
        });
        c.socket.destroy();
      }
    } finally {
      await server.stop();
    }
  });
}

Deno.test("STARTTLS: an s2s stream upgrades and carries a message when the read rate holds reading around it", async () => {
  const limits = { s2s: { readRateBytesPerSecond: 4000, readBurstBytes: 64 } };
  const [a, b] = await serverPair(limits, limits);
  const alice = await loginAt(a, "alice", "wonderland", "a.test");
  const bob = await loginAt(b, "bob", "builder", "b.test");
  try {
    alice.send(`<message to='bob@b.test/r' type='chat' id='m1'><body>hi</body></message>`);
    const got = await bob.stanza((e) => e.name === "message" && e.attrs.id === "m1");
    assert.equal(got.getChildText("body"), "hi");
    assert.ok(a.s2s?.manager.outgoing("a.test", "b.test")?.ready, "the stream a → b is up");
  } finally {
    alice.socket.destroy();
    bob.socket.destroy();
    await a.stop();
    await b.stop();
  }
});
