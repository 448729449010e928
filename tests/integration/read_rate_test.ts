/**
 * The read rate limit holds on TLS connections. Deno's TLS sockets kept
 * reading the TCP socket under them while paused, so a limited connection
 * still took in (and buffered) everything a peer sent: 30 MiB in 4 s over
 * STARTTLS. Here a flood of 32 MiB must mostly stay in the sender's socket.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { TestClient } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { flood, KERNEL_SLACK } from "../helpers/flood.ts";
import { NS } from "../../src/xml/namespaces.ts";

const RATE = 32 * 1024;
const BURST = 32 * 1024;
const FLOOD = 32 * 1024 * 1024;
const WAIT_MS = 2500;

/** What the server may have taken in: the burst, the rate over the time, and kernel buffers. */
function allowed(elapsedMs: number): number {
  return BURST + (RATE * elapsedMs) / 1000 + KERNEL_SLACK;
}

const limited = {
  listeners: { s2sDirectTls: { enabled: true } },
  c2s: { readRateBytesPerSecond: RATE, readBurstBytes: BURST },
  s2s: { readRateBytesPerSecond: RATE, readBurstBytes: BURST },
  component: { readRateBytesPerSecond: RATE, readBurstBytes: BURST },
};

/** Floods `socket` and checks the server took no more than the limit allows. */
async function floodWithinLimit(socket: net.Socket): Promise<void> {
  const { accepted, elapsedMs } = await flood(socket, FLOOD, WAIT_MS);
  assert.ok(
    accepted <= allowed(elapsedMs),
    `server took ${accepted} bytes in ${elapsedMs} ms (allowed ${allowed(elapsedMs)})`,
  );
}

for (const directTls of [false, true]) {
  const how = directTls ? "direct TLS" : "STARTTLS";
  Deno.test(`read rate: a logged-in client over ${how} cannot push faster than the limit`, async () => {
    const server = await startTestServer(limited);
    try {
      const c = await TestClient.login({
        port: directTls ? server.ports.c2sDirectTls : server.ports.c2s,
        directTls,
        user: "alice",
        password: "wonderland",
      });
      await floodWithinLimit(c.socket);
      c.socket.destroy();
    } finally {
      await server.stop();
    }
  });
}

Deno.test("read rate: an s2s peer over direct TLS cannot push faster than the limit", async () => {
  const server = await startTestServer(limited);
  try {
    const socket = tls.connect({
      host: "127.0.0.1",
      port: server.ports.s2sDirectTls,
      servername: "localhost",
      rejectUnauthorized: false,
      ALPNProtocols: ["xmpp-server"],
    });
    socket.on("error", () => {});
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", () => resolve());
      socket.once("error", reject);
    });
    socket.write(
      `<?xml version='1.0'?><stream:stream xmlns='${NS.server}' xmlns:stream='${NS.stream}' ` +
        `xmlns:db='jabber:server:dialback' from='remote.example' to='localhost' version='1.0'>`,
    );
    // The server's answer (header and features): the stream is open.
    await new Promise((r) => socket.once("data", r));
    await floodWithinLimit(socket);
    socket.destroy();
  } finally {
    await server.stop();
  }
});

Deno.test("read rate: an external component cannot push faster than the limit", async () => {
  const server = await startTestServer({
    ...limited,
    components: { "comp.localhost": { secret: "s3cret" } },
  });
  try {
    const socket = net.connect({ host: "127.0.0.1", port: server.ports.component });
    socket.on("error", () => {});
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("error", reject);
    });
    socket.write(
      `<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' ` +
        `xmlns:stream='${NS.stream}' to='comp.localhost'>`,
    );
    await new Promise((r) => socket.once("data", r));
    await floodWithinLimit(socket);
    socket.destroy();
  } finally {
    await server.stop();
  }
});

Deno.test("read rate: a peer on an outgoing s2s stream cannot push faster than the limit", async () => {
  // The peer is a bare TCP listener that a.test's outgoing stream connects to (a static
  // route): it answers the header and then floods the connection it was given.
  const accepted = Promise.withResolvers<net.Socket>();
  const peer = net.createServer((socket) => {
    socket.on("error", () => {});
    accepted.resolve(socket);
  });
  await new Promise<void>((resolve) => peer.listen(0, "127.0.0.1", resolve));
  const port = (peer.address() as net.AddressInfo).port;
  const server = await startTestServer({
    ...limited,
    s2s: {
      ...limited.s2s,
      requireEncryption: false,
      hosts: { "remote.example": `127.0.0.1:${port}` },
    },
  });
  try {
    const alice = await TestClient.login({
      port: server.ports.c2s,
      user: "alice",
      password: "wonderland",
    });
    alice.send(`<message to='x@remote.example' id='m1'><body>hi</body></message>`);
    const socket = await accepted.promise;
    // Our header: the outgoing stream's first bytes.
    await new Promise((r) => socket.once("data", r));
    socket.write(
      `<?xml version='1.0'?><stream:stream xmlns='${NS.server}' xmlns:stream='${NS.stream}' ` +
        `xmlns:db='jabber:server:dialback' from='remote.example' to='localhost' ` +
        `id='s1' version='1.0'>`,
    );
    await floodWithinLimit(socket);
    socket.destroy();
    alice.close();
  } finally {
    await server.stop();
    await new Promise((r) => peer.close(r));
  }
});
