import assert from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { TestClient } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { listen } from "../../src/net/listeners.ts";
import { ConnectionLimiter } from "../../src/net/connection_limiter.ts";
import { generateSelfSigned } from "../../src/tls/selfsigned.ts";

/** A plain TCP connection that never starts a TLS handshake; `closed` resolves when the server drops it. */
async function rawTcp(port: number): Promise<{ socket: net.Socket; closed: Promise<void> }> {
  const socket = net.connect({ host: "127.0.0.1", port });
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  return { socket, closed };
}

/** Which of `promises` settle within `ms`. */
async function settledWithin(promises: Promise<void>[], ms: number): Promise<boolean[]> {
  const done = promises.map(() => false);
  promises.forEach((p, i) => p.then(() => done[i] = true));
  await new Promise((r) => setTimeout(r, ms));
  return done;
}

Deno.test("direct TLS: TCP connections count against the per-IP limit before any handshake", async () => {
  const server = await startTestServer({ c2s: { maxUnauthenticatedPerIp: 3 } });
  const raws: { socket: net.Socket; closed: Promise<void> }[] = [];
  try {
    for (let i = 0; i < 6; i++) raws.push(await rawTcp(server.ports.c2sDirectTls));
    // The last three are over the limit: they would get their stream error
    // after a handshake, and are dropped when they do not start one within
    // the refusal grace (2 s; the handshake timeout is 30 s). The first
    // three keep their slots.
    await Promise.race([
      Promise.all(raws.slice(3).map((r) => r.closed)),
      new Promise((_, reject) => setTimeout(() => reject(new Error("not refused")), 5000)),
    ]);
    assert.deepEqual(await settledWithin(raws.slice(0, 3).map((r) => r.closed), 100), [
      false,
      false,
      false,
    ]);
    // Closing the idle ones frees their slots for real clients (once the
    // server saw the close: a few tries, bounded).
    for (const r of raws) r.socket.destroy();
    await Promise.all(raws.map((r) => r.closed));
    let c: TestClient | undefined;
    for (let tries = 0; !c && tries < 50; tries++) {
      c = await TestClient.login({
        port: server.ports.c2sDirectTls,
        directTls: true,
        user: "alice",
        password: "wonderland",
      }).catch(() => new Promise<undefined>((r) => setTimeout(() => r(undefined), 50)));
    }
    assert.ok(c, "a slot was freed");
    c.close();
  } finally {
    for (const r of raws) r.socket.destroy();
    await server.stop();
  }
});

Deno.test("direct TLS: a client that never finishes its handshake is dropped at the timeout and frees its slot", async () => {
  const pair = await generateSelfSigned(["localhost"]);
  const secureContext = tls.createSecureContext({ cert: pair.certPem, key: pair.keyPem });
  const limiter = new ConnectionLimiter({ maxTotal: 10, maxPerIp: 1, maxUnauthenticatedPerIp: 1 });
  const listener = await listen({
    name: "test-direct-tls",
    interfaces: ["127.0.0.1"],
    port: 0,
    tls: { secureContext, SNICallback: (_name, cb) => cb(null, secureContext) },
    limiter,
    streamNamespace: "jabber:client",
    handshakeTimeoutMs: 200,
    onConnection: (conn) => conn.start({ onData: () => {}, onClose: () => {} }),
  });
  const port = listener.addresses[0].port;
  try {
    const idle = await rawTcp(port);
    await Promise.race([
      idle.closed,
      new Promise((_, reject) => setTimeout(() => reject(new Error("still open")), 5000)),
    ]);
    // The slot is free again: a client completing its handshake gets in.
    const secure = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once("secureConnect", () => resolve());
      secure.once("error", reject);
    });
    assert.equal(limiter.count("127.0.0.1"), 1);
    secure.destroy();
  } finally {
    await listener.close();
  }
});

Deno.test("direct TLS: shutdown still delivers system-shutdown before closing", async () => {
  const server = await startTestServer();
  const c = await TestClient.login({
    port: server.ports.c2sDirectTls,
    directTls: true,
    user: "alice",
    password: "wonderland",
  });
  await server.stop();
  assert.equal(await c.streamError(), "system-shutdown");
  await c.waitClosed();
});
