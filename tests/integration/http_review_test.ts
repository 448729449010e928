/** Review of the HTTP transports: hostile WebSocket and BOSH clients over real sockets. */
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { loginCookie, scramFirst, statusData, statusUrl } from "../helpers/status.ts";
import { TestClient } from "../helpers/client.ts";
import { dropConnection, failedCondition, resume, sessionOf, smLogin } from "../helpers/sm.ts";
import { BoshClient, withBosh } from "../helpers/bosh_client.ts";
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

Deno.test("status: a host's own admin sees that host's users only; a global admin sees all", async () => {
  const server = await startTestServer({
    hosts: [
      { domain: "a.test", admins: ["alice@a.test"] },
      { domain: "b.test", admins: ["bob@b.test"] },
    ],
    admins: ["root@a.test"],
  }, { alice: "wonderland", bob: "builder", root: "toor" });
  const clients: TestClient[] = [];
  try {
    for (
      const [user, password, domain] of [["alice", "wonderland", "a.test"], [
        "bob",
        "builder",
        "b.test",
      ]]
    ) {
      clients.push(
        await TestClient.login({ port: server.ports.c2s, user, password, domain, resource: "r" }),
      );
    }
    const jids = async (jid: string, password: string) => {
      const cookie = await loginCookie(server, jid, password);
      const { body } = await statusData(server, cookie);
      const live = await statusEvent(server, cookie);
      return {
        data: body.users.map((u: { jid: string }) => u.jid).sort(),
        events: live.users.map((u: { jid: string }) => u.jid).sort(),
        totals: body.totals,
      };
    };
    const alice = await jids("alice@a.test", "wonderland");
    assert.deepEqual(alice.data, ["alice@a.test"], "a.test's admin was shown b.test's users");
    assert.deepEqual(alice.events, ["alice@a.test"]);
    assert.equal(alice.totals.users, 1);
    assert.equal(alice.totals.resources, 1);
    const bob = await jids("bob@b.test", "builder");
    assert.deepEqual(bob.data, ["bob@b.test"]);
    const root = await jids("root@a.test", "toor");
    assert.deepEqual(root.data, ["alice@a.test", "bob@b.test"]);
    assert.deepEqual(root.events, ["alice@a.test", "bob@b.test"]);
  } finally {
    for (const c of clients) c.close();
    await server.stop();
  }
});

/** The first `status` event of /status/events, parsed. */
// deno-lint-ignore no-explicit-any
async function statusEvent(server: TestServer, cookie: string): Promise<any> {
  const res = await fetch(statusUrl(server, "/status/events"), { headers: { cookie } });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const marker = "event: status\ndata: ";
  for (let i = 0; i < 20 && !/event: status\ndata: .*\n\n/.test(text); i++) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  await reader.cancel();
  const start = text.indexOf(marker) + marker.length;
  return JSON.parse(text.slice(start, text.indexOf("\n\n", start)));
}

/** A POST whose body never arrives whole: headers and the start of the body, then nothing. */
async function stalledPost(
  port: number,
  path: string,
  chunked: boolean,
  type = "text/xml",
): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const head = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: ${type}\r\n` +
    `Origin: http://127.0.0.1:${port}\r\n` +
    (chunked
      ? "Transfer-Encoding: chunked\r\n\r\n5\r\n<body\r\n"
      : "Content-Length: 100\r\n\r\n<body");
  await conn.write(new TextEncoder().encode(head));
  return conn;
}

/** The status line of the answer on `conn`, or undefined when none came within `ms`. */
async function statusLine(conn: Deno.TcpConn, ms: number): Promise<string | undefined> {
  const buf = new Uint8Array(4096);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const n = await Promise.race([
    conn.read(buf).catch(() => null),
    new Promise<null>((r) => timer = setTimeout(() => r(null), ms)),
  ]);
  clearTimeout(timer);
  return n ? new TextDecoder().decode(buf.subarray(0, n)).split("\r\n")[0] : undefined;
}

Deno.test("http: a request body that never arrives whole gets 408 and stops counting against the limits", async () => {
  const server = await startTestServer({ http: { maxRequestsPerIp: 3, bodyTimeoutSeconds: 1 } });
  const port = server.ports.http;
  const conns: Deno.TcpConn[] = [];
  try {
    conns.push(await stalledPost(port, "/http-bind", false));
    conns.push(await stalledPost(port, "/http-bind", true));
    conns.push(
      await stalledPost(port, "/status/login", false, "application/x-www-form-urlencoded"),
    );
    for (const conn of conns) {
      assert.equal(await statusLine(conn, 15_000), "HTTP/1.1 408 Request Timeout");
    }
    const res = await fetch(`http://127.0.0.1:${port}/.well-known/host-meta`);
    await res.body?.cancel();
    assert.equal(res.status, 200, "the stalled requests still count as in progress");
  } finally {
    for (const conn of conns) conn.close();
    await server.stop();
  }
});

Deno.test("sm: a hibernating session of a deleted account is gone; an account made again under the name cannot resume it", async () => {
  const server = await startTestServer({});
  let again: TestClient | undefined;
  try {
    const { c, id } = await smLogin(server, "bob", "builder", "phone");
    await dropConnection(server, c);
    assert.ok(await server.deleteAccount("localhost", "bob"));
    assert.equal(sessionOf(server, "bob@localhost/phone"), undefined);
    // An operator gives the name out again (past the tombstone): a new owner.
    await server.auth.createUser("localhost", "bob", "other");
    const attempt = await resume(server, "bob", "other", id, 0);
    again = attempt.c;
    assert.equal(failedCondition(attempt.answer), "item-not-found");
  } finally {
    again?.close();
    await server.stop();
  }
});

Deno.test("http: an IPv6 /64 is one client for the per-address caps on BOSH sessions and requests", async () => {
  await withBosh({
    http: { trustedProxies: ["127.0.0.1"], maxRequestsPerIp: 2 },
    bosh: { maxSessionsPerIp: 3, maxWaitSeconds: 5 },
  }, async (s) => {
    // Addresses a single subscriber picks at will from its /64.
    const ip = (i: number) => `2001:db8:1:2::${(i + 1).toString(16)}`;
    const create = async (from: string) => {
      const c = new BoshClient(s.url);
      c.headers["x-forwarded-for"] = from;
      const reply = await c.create();
      return reply.attrs.sid ? "ok" : reply.attrs.condition;
    };
    const sessions: string[] = [];
    for (let i = 0; i < 5; i++) sessions.push(await create(ip(i)));
    assert.deepEqual(sessions, ["ok", "ok", "ok", "policy-violation", "policy-violation"]);
    // Another /64 is another client.
    assert.equal(await create("2001:db8:1:3::1"), "ok");

    // Requests in progress: BOSH polls held by the server, each from another address of the /64.
    const held: Promise<Response>[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const c = new BoshClient(s.url);
      c.headers["x-forwarded-for"] = "2001:db8:9:9::1";
      await c.create();
      const poll = fetch(s.url, {
        method: "POST",
        headers: {
          "content-type": "text/xml",
          "x-forwarded-for": ip(100 + i).replace("1:2", "7:7"),
        },
        body: c.body(),
      });
      held.push(poll);
    }
    // Two are held; whichever comes last finds the /64's two slots taken.
    for (const p of held) {
      const res = await p;
      statuses.push(res.status);
      await res.body?.cancel();
    }
    assert.deepEqual(statuses.sort(), [200, 200, 429]);
  });
});

Deno.test("websocket: a client that never answers the closing handshake is dropped and frees its slot", async () => {
  const server = await startTestServer({ c2s: { maxConnectionsPerIp: 1 } });
  const port = server.ports.http;
  let ws: RawWebSocket | undefined;
  try {
    ws = await RawWebSocket.connect(port, WEBSOCKET_PATH);
    await ws.send(OPEN);
    // The one slot is taken while it lasts: freeing it below is then the drop's doing.
    await assert.rejects(RawWebSocket.connect(port, WEBSOCKET_PATH), /upgrade refused/);
    await ws.send(`<close xmlns='${FRAMING}'/>`);
    // It reads everything, our <close/> and the WebSocket close frame, and never answers.
    assert.ok(await ws.drainUntilEnd(15_000), "the server never let go of the connection");
    const again = await RawWebSocket.connect(port, WEBSOCKET_PATH);
    again.close();
  } finally {
    ws?.close();
    await server.stop();
  }
});

Deno.test("status: the SCRAM exchanges one client may hold count an IPv6 /64 as one client", async () => {
  const server = await startTestServer({
    admins: ["alice@localhost"],
    http: { trustedProxies: ["127.0.0.1"] },
  });
  try {
    const first = (from: string) =>
      scramFirst(server, {
        "x-forwarded-for": from,
        "x-forwarded-proto": "https",
        origin: `https://127.0.0.1:${server.ports.http}`,
      });
    const statuses = [];
    for (let i = 1; i <= 6; i++) statuses.push(await first(`2001:db8:5:5::${i}`));
    assert.deepEqual(statuses, [200, 200, 200, 200, 503, 503]);
    assert.equal(await first("2001:db8:5:6::1"), 200, "another /64 is another client");
  } finally {
    await server.stop();
  }
});
