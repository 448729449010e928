/**
 * Connection limits answer with a stream error before closing (RFC 6120
 * §4.9.3): `policy-violation` for an address over its share,
 * `resource-constraint` when the server is full. Authenticated
 * connections count only against the higher per-IP and global limits.
 */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { NS } from "../../src/xml/namespaces.ts";
import { startServerProcess } from "../helpers/server_process.ts";

const login = (server: TestServer, user = "alice", directTls = false) =>
  TestClient.login({
    port: directTls ? server.ports.c2sDirectTls : server.ports.c2s,
    directTls,
    user,
    password: user === "alice" ? "wonderland" : "builder",
  });

/** A connection that opens its stream and goes no further (unauthenticated). */
async function idle(server: TestServer): Promise<TestClient> {
  const c = await TestClient.connect({ port: server.ports.c2s });
  await c.open();
  return c;
}

/** The refusal a new connection gets: the stream error's condition, then the close. */
async function refused(port: number, directTls = false): Promise<string> {
  const c = await TestClient.connect({ port, directTls });
  const header = await c.next((f) => f.kind === "open");
  assert.equal((header as { attrs: Record<string, string> }).attrs.xmlns, NS.client);
  const condition = await c.streamError();
  await c.waitClosed();
  return condition;
}

Deno.test("limits: unauthenticated connections per IP get policy-violation, authenticated ones do not count", async () => {
  const server = await startTestServer({ c2s: { maxUnauthenticatedPerIp: 2 } });
  const clients: TestClient[] = [];
  try {
    clients.push(await idle(server), await idle(server));
    assert.equal(await refused(server.ports.c2s), "policy-violation");
    // The same share holds on the direct-TLS port (one limiter for both), and
    // the error comes over TLS.
    assert.equal(await refused(server.ports.c2sDirectTls, true), "policy-violation");
    // Logging in frees the unauthenticated place: another may connect meanwhile.
    for (const c of clients.splice(0)) c.close();
    for (let i = 0; i < 4; i++) clients.push(await loginWithRetry(server));
    clients.push(await idle(server), await idle(server));
    assert.equal(await refused(server.ports.c2s), "policy-violation");
  } finally {
    for (const c of clients) c.close();
    await server.stop();
  }
});

Deno.test("limits: all connections from one IP, authenticated or not, are capped higher", async () => {
  const server = await startTestServer({
    c2s: { maxConnectionsPerIp: 3, maxUnauthenticatedPerIp: 3 },
  });
  const clients: TestClient[] = [];
  try {
    for (let i = 0; i < 3; i++) clients.push(await loginWithRetry(server));
    assert.equal(await refused(server.ports.c2s), "policy-violation");
  } finally {
    for (const c of clients) c.close();
    await server.stop();
  }
});

Deno.test("limits: over the global cap, a new connection gets resource-constraint", async () => {
  const server = await startTestServer({ c2s: { maxConnections: 3 } });
  const clients: TestClient[] = [];
  try {
    clients.push(await loginWithRetry(server), await loginWithRetry(server, "bob"));
    clients.push(await idle(server));
    assert.equal(await refused(server.ports.c2s), "resource-constraint");
    assert.equal(await refused(server.ports.c2sDirectTls, true), "resource-constraint");
    // A place freed is a place again (once the server saw the close).
    clients.pop()!.close();
    clients.push(await loginWithRetry(server));
  } finally {
    for (const c of clients) c.close();
    await server.stop();
  }
});

/** Login, retrying while the server has not yet seen an earlier close (bounded). */
async function loginWithRetry(server: TestServer, user = "alice"): Promise<TestClient> {
  for (let tries = 0;; tries++) {
    try {
      return await login(server, user);
    } catch (err) {
      if (tries >= 50) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

Deno.test({
  name: "limits: refusals from one address are logged once per window, not once each",
  // The server runs as a child process; its stderr pipe is read to the end.
  sanitizeResources: false,
  fn: async () => {
    const server = await startServerProcess({ c2s: { maxUnauthenticatedPerIp: 1 } });
    const clients: TestClient[] = [];
    try {
      const port = server.ports["c2s"];
      const first = await TestClient.connect({ port });
      await first.open();
      clients.push(first);
      for (let i = 0; i < 5; i++) assert.equal(await refused(port), "policy-violation");
      const lines = server.log().split("\n").filter((l) => l.includes("refusing connections"));
      assert.equal(lines.length, 1, lines.join("\n"));
      assert.match(lines[0], /127\.0\.0\.1.*policy-violation/);
    } finally {
      for (const c of clients) c.close();
      await server.stop();
    }
  },
});
