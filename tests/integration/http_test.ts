/** The HTTP server over real sockets: host-meta, limits, forwarded addresses, HTTPS, shutdown. */
import assert from "node:assert/strict";
import * as https from "node:https";
import * as tls from "node:tls";
import { join } from "node:path";
import { generateSelfSigned } from "../../src/tls/selfsigned.ts";
import { startTestServer, type TestServer, withTestServer } from "../helpers/server.ts";

const withServer = withTestServer;

/** A route that reports what the server believes about the request. */
function addEcho(server: TestServer): void {
  server.httpRoutes.add("/test/echo", (_request, info) => Response.json(info));
}

Deno.test("host-meta (XRD) and host-meta.json name WebSocket and BOSH from the Host header", async () => {
  await withServer({}, async (server) => {
    const base = `http://127.0.0.1:${server.ports.http}`;
    const xml = await fetch(`${base}/.well-known/host-meta`);
    assert.equal(xml.status, 200);
    assert.equal(xml.headers.get("access-control-allow-origin"), "*");
    assert.match(xml.headers.get("content-type") ?? "", /^application\/xrd\+xml/);
    const body = await xml.text();
    assert.match(body, /<XRD xmlns="http:\/\/docs\.oasis-open\.org\/ns\/xri\/xrd-1\.0">/);
    assert.ok(
      body.includes(
        `<Link rel="urn:xmpp:alt-connections:websocket" href="ws://127.0.0.1:${server.ports.http}/xmpp-websocket"/>`,
      ),
      body,
    );
    assert.ok(
      body.includes(
        `<Link rel="urn:xmpp:alt-connections:xbosh" href="http://127.0.0.1:${server.ports.http}/http-bind"/>`,
      ),
      body,
    );
    const json = await fetch(`${base}/.well-known/host-meta.json`);
    assert.equal(json.headers.get("access-control-allow-origin"), "*");
    assert.deepEqual(await json.json(), {
      links: [
        {
          rel: "urn:xmpp:alt-connections:websocket",
          href: `ws://127.0.0.1:${server.ports.http}/xmpp-websocket`,
        },
        {
          rel: "urn:xmpp:alt-connections:xbosh",
          href: `http://127.0.0.1:${server.ports.http}/http-bind`,
        },
      ],
    });
    const missing = await fetch(`${base}/nothing-here`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  });
});

Deno.test("host-meta advertises configured URLs, and only enabled transports", async () => {
  await withServer({
    http: { websocketUrl: "wss://chat.example/ws", bosh: false },
  }, async (server) => {
    const res = await fetch(`http://127.0.0.1:${server.ports.http}/.well-known/host-meta.json`);
    assert.deepEqual(await res.json(), {
      links: [{ rel: "urn:xmpp:alt-connections:websocket", href: "wss://chat.example/ws" }],
    });
  });
});

Deno.test("X-Forwarded-For and -Proto are believed only from a trusted proxy", async () => {
  const headers = { "x-forwarded-for": "203.0.113.9, 198.51.100.7", "x-forwarded-proto": "https" };
  await withServer({}, async (server) => {
    addEcho(server);
    const res = await fetch(`http://127.0.0.1:${server.ports.http}/test/echo`, { headers });
    const info = await res.json();
    assert.equal(info.remoteAddress, "127.0.0.1");
    assert.equal(info.secure, false);
  });
  await withServer({ http: { trustedProxies: ["127.0.0.0/8"] } }, async (server) => {
    addEcho(server);
    const res = await fetch(`http://127.0.0.1:${server.ports.http}/test/echo`, { headers });
    const info = await res.json();
    assert.equal(info.remoteAddress, "198.51.100.7");
    assert.equal(info.secure, true);
    assert.equal(info.host, "127.0.0.1");
  });
});

Deno.test("a body over http.maxBodyBytes gets 413, by Content-Length or while streaming", async () => {
  await withServer({ http: { maxBodyBytes: 1024 } }, async (server) => {
    server.httpRoutes.add("/test/body", async (request) => {
      const body = await request.arrayBuffer();
      return new Response(`${body.byteLength}`);
    });
    const url = `http://127.0.0.1:${server.ports.http}/test/body`;
    const small = await fetch(url, { method: "POST", body: "x".repeat(1000) });
    assert.equal(await small.text(), "1000");
    const big = await fetch(url, { method: "POST", body: "x".repeat(2000) });
    assert.equal(big.status, 413);
    await big.body?.cancel();
    // No Content-Length: a chunked body is counted as it arrives.
    const chunks = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 4; i++) c.enqueue(new Uint8Array(600));
        c.close();
      },
    });
    const streamed = await fetch(url, { method: "POST", body: chunks });
    assert.equal(streamed.status, 413);
    await streamed.body?.cancel();
  });
});

Deno.test("HTTPS serves host-meta with the host's certificate", async () => {
  await withServer({}, async (server) => {
    const { status, body, subject } = await new Promise<
      { status?: number; body: string; subject: string }
    >((resolve, reject) => {
      https.get({
        host: "127.0.0.1",
        port: server.ports.https,
        path: "/.well-known/host-meta.json",
        servername: "localhost",
        rejectUnauthorized: false,
      }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => body += d);
        // deno-lint-ignore no-explicit-any
        const cert = (res.socket as any).getPeerCertificate?.();
        res.on(
          "end",
          () =>
            resolve({
              status: res.statusCode,
              body,
              subject: JSON.stringify(cert?.subjectaltname),
            }),
        );
      }).on("error", reject);
    });
    assert.equal(status, 200);
    assert.match(subject, /localhost/);
    assert.ok(body.includes(`wss://127.0.0.1:${server.ports.https}/xmpp-websocket`), body);
  });
});

Deno.test("stopping the server closes the HTTP listeners", async () => {
  const server = await startTestServer();
  const port = server.ports.http;
  const res = await fetch(`http://127.0.0.1:${port}/.well-known/host-meta`);
  await res.body?.cancel();
  await server.stop();
  await assert.rejects(fetch(`http://127.0.0.1:${port}/.well-known/host-meta`));
});

Deno.test("HTTPS picks each host's certificate by SNI", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-sni-" });
  const pair = await generateSelfSigned(["b.example"]);
  await Deno.writeTextFile(join(dir, "b.crt"), pair.certPem);
  await Deno.writeTextFile(join(dir, "b.key"), pair.keyPem);
  try {
    await withServer({
      hosts: [
        "localhost",
        { domain: "b.example", tls: { certificate: join(dir, "b.crt"), key: join(dir, "b.key") } },
      ],
    }, async (server) => {
      const names = (servername?: string) =>
        new Promise<string>((resolve, reject) => {
          const socket = tls.connect({
            host: "127.0.0.1",
            port: server.ports.https,
            servername,
            rejectUnauthorized: false,
          }, () => {
            resolve(String(socket.getPeerCertificate().subjectaltname));
            socket.destroy();
          });
          socket.on("error", reject);
        });
      // The generated certificate names every host without its own; b.example has its own.
      assert.match(await names("b.example"), /DNS:b\.example/);
      assert.doesNotMatch(await names("b.example"), /localhost/);
      assert.match(await names("localhost"), /DNS:localhost/);
      assert.match(await names(undefined), /DNS:localhost/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a route can upgrade to a WebSocket (xmpp subprotocol)", async () => {
  await withServer({}, async (server) => {
    server.httpRoutes.add("/test/ws", (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request, { protocol: "xmpp" });
      socket.onmessage = (e) => socket.send(`echo ${e.data}`);
      return response;
    });
    const ws = new WebSocket(`ws://127.0.0.1:${server.ports.http}/test/ws`, "xmpp");
    const reply = Promise.withResolvers<string>();
    ws.onmessage = (e) => reply.resolve(String(e.data));
    ws.onerror = () => reply.reject(new Error("websocket failed"));
    ws.onopen = () => ws.send("<open/>");
    assert.equal(await reply.promise, "echo <open/>");
    assert.equal(ws.protocol, "xmpp");
    const closed = new Promise((r) => ws.onclose = r);
    ws.close();
    await closed;
  });
});

/** Holds one request open in /test/slow while `fn` runs, then lets it finish. */
async function withSlowRequest(server: TestServer, fn: (base: string) => Promise<void>) {
  const release = Promise.withResolvers<void>();
  const entered = Promise.withResolvers<void>();
  server.httpRoutes.add("/test/slow", async () => {
    entered.resolve();
    await release.promise;
    return new Response("done");
  });
  const base = `http://127.0.0.1:${server.ports.http}`;
  const slow = fetch(`${base}/test/slow`);
  await entered.promise;
  try {
    await fn(base);
  } finally {
    release.resolve();
  }
  assert.equal(await (await slow).text(), "done");
  const after = await fetch(`${base}/.well-known/host-meta`);
  assert.equal(after.status, 200);
  await after.body?.cancel();
}

Deno.test("requests in progress past http.maxRequestsPerIp get 429", async () => {
  await withServer({ http: { maxRequestsPerIp: 1 } }, async (server) => {
    await withSlowRequest(server, async (base) => {
      const second = await fetch(`${base}/.well-known/host-meta`);
      assert.equal(second.status, 429);
      await second.body?.cancel();
    });
  });
});

Deno.test("requests in progress past http.maxRequests get 503", async () => {
  await withServer({ http: { maxRequests: 1 } }, async (server) => {
    await withSlowRequest(server, async (base) => {
      const second = await fetch(`${base}/.well-known/host-meta`);
      assert.equal(second.status, 503);
      await second.body?.cancel();
    });
  });
});

Deno.test("behind a trusted proxy, host-meta URLs use the forwarded scheme and the Host header", async () => {
  await withServer({ http: { trustedProxies: ["127.0.0.1"] } }, async (server) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.ports.http });
    try {
      await conn.write(new TextEncoder().encode(
        "GET /.well-known/host-meta.json HTTP/1.1\r\nHost: chat.example\r\n" +
          "X-Forwarded-For: 203.0.113.4\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n",
      ));
      let response = "";
      const buf = new Uint8Array(4096);
      const decoder = new TextDecoder();
      for (let i = 0; i < 100; i++) {
        const n = await conn.read(buf);
        if (n === null) break;
        response += decoder.decode(buf.subarray(0, n), { stream: true });
      }
      assert.match(response, /^HTTP\/1\.1 200/);
      const json = JSON.parse(response.slice(response.indexOf("\r\n\r\n") + 4));
      assert.deepEqual(json.links.map((l: { href: string }) => l.href), [
        "wss://chat.example/xmpp-websocket",
        "https://chat.example/http-bind",
      ]);
    } finally {
      conn.close();
    }
  });
});

Deno.test("stopping the server closes open WebSockets", async () => {
  const server = await startTestServer();
  server.httpRoutes.add("/test/ws", (request) => Deno.upgradeWebSocket(request).response);
  const ws = new WebSocket(`ws://127.0.0.1:${server.ports.http}/test/ws`);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  const closed = new Promise((resolve) => ws.onclose = resolve);
  await server.stop();
  await closed;
  assert.equal(ws.readyState, WebSocket.CLOSED);
});

/** One raw HTTP/1.1 request (fetch cannot send a hostile Host); the status line back. */
async function rawStatus(port: number, target: string, host: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const head = `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(head));
    const buf = new Uint8Array(8192);
    const n = await conn.read(buf);
    return new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\r\n")[0];
  } finally {
    conn.close();
  }
}

Deno.test("a Host header that is not a host gets 400, counts against no limit, and cannot pick the route", async () => {
  await withServer({ http: { maxRequestsPerIp: 2 } }, async (server) => {
    addEcho(server);
    const port = server.ports.http;
    // Deno puts the Host in front of the target: "x/test/echo#" would route GET / to /test/echo.
    assert.match(await rawStatus(port, "/", "x/test/echo#"), / 400 /);
    assert.match(await rawStatus(port, "/", "x?y"), / 400 /);
    assert.match(await rawStatus(port, "/", "@evil"), / 400 /);
    assert.match(await rawStatus(port, "/", "x".repeat(300)), / 400 /);
    // Ones the URL parser rejects; each once took a request slot for good (the limit is 2).
    for (const host of ["a b", "a'><x", "[::1", "a<b>"]) {
      assert.match(await rawStatus(port, "/", host), / 400 /);
    }
    assert.match(await rawStatus(port, "/test/echo", `localhost:${port}`), / 200 /);
    assert.match(await rawStatus(port, "/test/echo", `[::1]:${port}`), / 200 /);
  });
});

Deno.test("a route counting while streaming keeps the request in progress until its body is over", async () => {
  await withServer({ http: { maxRequestsPerIp: 1 } }, async (server) => {
    // A body without end, as a large download is to a client that stopped reading.
    const cancelled = Promise.withResolvers<void>();
    server.httpRoutes.add("/test/endless", () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull: (c) => c.enqueue(new Uint8Array(64 * 1024)),
          cancel: () => cancelled.resolve(),
        }),
      ), { countWhileStreaming: true });
    const base = `http://127.0.0.1:${server.ports.http}`;
    const endless = await fetch(`${base}/test/endless`);
    assert.equal(endless.status, 200);
    const second = await fetch(`${base}/.well-known/host-meta`);
    assert.equal(second.status, 429);
    await second.body?.cancel();
    // Dropped by the client: the slot is free again.
    await endless.body?.cancel();
    await cancelled.promise;
    const after = await fetch(`${base}/.well-known/host-meta`);
    assert.equal(after.status, 200);
    await after.body?.cancel();
  });
});
