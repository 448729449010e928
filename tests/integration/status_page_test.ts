/**
 * The status page over real sockets: admin login with the form (refused
 * for a wrong password, a non-admin, a cross-origin or origin-less POST,
 * and a non-loopback plain-HTTP client), the signed cookie (tampering
 * refused), the JSON snapshot showing a session in the session model's
 * terms, and the server-sent events.
 */
import assert from "node:assert/strict";
import * as https from "node:https";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { imLogin } from "../helpers/im.ts";
import { dropConnection, enable } from "../helpers/sm.ts";
import { loginAt, serverPair } from "../helpers/federation.ts";
import { connectComponent } from "../helpers/component.ts";
import type { TestClient } from "../helpers/client.ts";
import {
  loginCookie,
  postLogin,
  scramFirst,
  scramLogin,
  scramStep,
  statusData,
  statusUrl,
} from "../helpers/status.ts";

const ADMIN = { admins: ["alice@localhost"] };

async function withServer(fn: (s: TestServer) => Promise<void>, over = {}) {
  const server = await startTestServer({ ...ADMIN, ...over });
  try {
    await fn(server);
  } finally {
    await server.stop();
  }
}

Deno.test("status: admin logs in; the cookie is HttpOnly, SameSite=Strict, signed", () =>
  withServer(async (server) => {
    const page = await fetch(statusUrl(server));
    const html = await page.text();
    assert.equal(page.status, 200);
    assert.match(html, /<form method="post" action="\/status\/login">/);
    assert.match(page.headers.get("content-security-policy")!, /default-src 'none'/);

    const res = await postLogin(server, "alice@localhost", "wonderland");
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/status");
    const cookie = res.headers.get("set-cookie")!;
    assert.match(cookie, /^parley_status=[\w-]+\.[\w-]+; Path=\/status; Max-Age=3600; /);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.doesNotMatch(cookie, /Secure/, "plain loopback HTTP cannot keep a Secure cookie");

    const value = cookie.split(";")[0];
    const dashboard = await fetch(statusUrl(server), { headers: { cookie: value } });
    assert.match(await dashboard.text(), /<script src="\/status\/app.js"><\/script>/);
    const { status, body } = await statusData(server, value);
    assert.equal(status, 200);
    assert.ok(body.hosts.some((h: { domain: string }) => h.domain === "localhost"));
    assert.ok(
      body.listeners.some((l: { name: string; port: number }) =>
        l.name === "c2s" && l.port === server.ports.c2s
      ),
    );
    // The secret stays in the data directory, readable by the server only.
    const info = await Deno.stat(`${server.dataDir}/status-secret`);
    assert.equal(info.mode! & 0o777, 0o600);
  }));

Deno.test("status: wrong password, non-admin and cross-site logins are refused", () =>
  withServer(async (server) => {
    assert.equal((await postLogin(server, "alice@localhost", "nope")).status, 401);
    assert.equal((await postLogin(server, "nobody@localhost", "nope")).status, 401);
    assert.equal((await postLogin(server, "alice@elsewhere.example", "x")).status, 401);
    const bob = await postLogin(server, "bob@localhost", "builder");
    assert.equal(bob.status, 403);
    assert.equal(bob.headers.get("set-cookie"), null);
    // CSRF: another origin, or none at all.
    const evil = await postLogin(server, "alice@localhost", "wonderland", {
      origin: "https://evil.example",
    });
    assert.equal(evil.status, 403);
    const res = await fetch(statusUrl(server, "/status/login"), {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "jid=alice%40localhost&password=wonderland",
    });
    await res.body?.cancel();
    assert.equal(res.status, 403);
    // Without a login there is no data.
    assert.equal((await statusData(server)).status, 401);
  }));

Deno.test("status: a login body past 8 KiB is cut off as it streams (413), chunked or not", () =>
  withServer(async (server) => {
    const origin = `http://127.0.0.1:${server.ports.http}`;
    for (
      const [path, type] of [
        ["/status/login", "application/x-www-form-urlencoded"],
        ["/status/scram", "application/json"],
      ]
    ) {
      // Chunked (no Content-Length): refused by the route's own limit, not
      // read up to http.maxBodyBytes and then found unreadable (400).
      const chunk = new TextEncoder().encode("x".repeat(4096));
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 16) controller.enqueue(chunk);
          else controller.close();
        },
      });
      const chunked = await fetch(statusUrl(server, path), {
        method: "POST",
        headers: { "content-type": type, origin },
        body,
      });
      await chunked.body?.cancel();
      assert.equal(chunked.status, 413, path);
      const sized = await fetch(statusUrl(server, path), {
        method: "POST",
        headers: { "content-type": type, origin },
        body: "x".repeat(9000),
      });
      await sized.body?.cancel();
      assert.equal(sized.status, 413, path);
    }
    // A login of ordinary size still works.
    assert.equal((await postLogin(server, "alice@localhost", "wonderland")).status, 303);
  }));

Deno.test("status: SCRAM-SHA-256 login over JSON; wrong password and non-admin refused", () =>
  withServer(async (server) => {
    const ok = await scramLogin(server, "alice@localhost", "wonderland");
    assert.equal(ok.res.status, 200);
    assert.ok(ok.serverVerified, "the server's signature checks out");
    const cookie = ok.res.headers.get("set-cookie")!;
    assert.match(cookie, /^parley_status=.*HttpOnly; SameSite=Strict$/);
    assert.equal((await statusData(server, cookie.split(";")[0])).status, 200);

    const wrong = await scramLogin(server, "alice@localhost", "not-it");
    assert.equal(wrong.res.status, 401);
    assert.equal(wrong.res.headers.get("set-cookie"), null);
    const bob = await scramLogin(server, "bob@localhost", "builder");
    assert.equal(bob.res.status, 403);
    assert.equal(bob.res.headers.get("set-cookie"), null);
    // An unknown exchange id, and garbage, are malformed.
    assert.equal((await scramStep(server, { id: "nope", data: "" })).res.status, 400);
    assert.equal(
      (await scramStep(server, { mechanism: "PLAIN", jid: "a@localhost", data: "" })).res.status,
      400,
    );
  }));

Deno.test("status: one address cannot hold every SCRAM exchange in progress", () =>
  withServer(async (server) => {
    const first = (headers: Record<string, string>) => scramFirst(server, headers);
    const near = { origin: `http://127.0.0.1:${server.ports.http}` };
    // Client-firsts never followed by their client-final: no failure to throttle.
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push(await first(near));
    assert.deepEqual(statuses, [200, 200, 200, 200, 503, 503]);
    // Another address still logs in.
    const other = await first({
      "x-forwarded-for": "203.0.113.7",
      "x-forwarded-proto": "https",
      origin: `https://127.0.0.1:${server.ports.http}`,
    });
    assert.equal(other, 200);
  }, { http: { trustedProxies: ["127.0.0.1"] } }));

Deno.test("status: failed logins are throttled like SASL's", () =>
  withServer(async (server) => {
    for (let i = 0; i < 3; i++) {
      assert.equal((await postLogin(server, "alice@localhost", "bad" + i)).status, 401);
    }
    // Past the limit even the right password gets the same refusal.
    assert.equal((await postLogin(server, "alice@localhost", "wonderland")).status, 429);
  }, { auth: { perIp: { maxFailures: 3, windowSeconds: 60 } } }));

Deno.test("status: a tampered or foreign cookie is refused", () =>
  withServer(async (server) => {
    const cookie = await loginCookie(server, "alice@localhost", "wonderland");
    const [name, value] = cookie.split("=");
    const [payload, mac] = value.split(".");
    // Same MAC, payload naming another account.
    const forged = btoa(JSON.stringify({ jid: "bob@localhost", exp: Date.now() + 60_000 }))
      .replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
    const flipped = mac.slice(0, -2) + (mac.at(-2) === "A" ? "B" : "A") + mac.at(-1);
    for (const bad of [`${forged}.${mac}`, `${payload}.${flipped}`, payload, "", `${payload}.`]) {
      assert.equal((await statusData(server, `${name}=${bad}`)).status, 401, bad);
    }
    assert.equal((await statusData(server, cookie)).status, 200);
  }));

Deno.test("status: a non-loopback client over plain HTTP is refused; via HTTPS proxy the cookie is Secure", () =>
  withServer(async (server) => {
    const far = { "x-forwarded-for": "203.0.113.7" };
    assert.equal((await postLogin(server, "alice@localhost", "wonderland", far)).status, 403);
    const viaTls = await postLogin(server, "alice@localhost", "wonderland", {
      ...far,
      "x-forwarded-proto": "https",
      origin: `https://127.0.0.1:${server.ports.http}`,
    });
    assert.equal(viaTls.status, 303);
    assert.match(viaTls.headers.get("set-cookie")!, /; Secure/);
  }, { http: { trustedProxies: ["127.0.0.1"] } }));

Deno.test("status: the data shows a session's transport, presence, interest and stream management", () =>
  withServer(async (server) => {
    const cookie = await loginCookie(server, "alice@localhost", "wonderland");
    const c = await imLogin(
      server,
      "bob",
      "builder",
      "phone",
      "<presence><show>away</show><priority>5</priority></presence>",
    );
    const enabled = await enable(c);
    assert.equal(enabled.name, "enabled");
    // deno-lint-ignore no-explicit-any
    const phone = async (): Promise<any> => {
      const { body } = await statusData(server, cookie);
      return body.users.find((u: { jid: string }) => u.jid === "bob@localhost")?.resources[0];
    };
    let r = await phone();
    assert.equal(r.resource, "phone");
    assert.equal(r.transport, "TLS");
    assert.equal(r.secure, true);
    assert.equal(r.connected, true);
    assert.equal(r.available, true);
    assert.equal(r.show, "away");
    assert.equal(r.priority, 5);
    assert.equal(r.interested, true);
    assert.equal(r.sm.enabled, true);
    assert.equal(r.sm.resumable, true);
    assert.equal(r.sm.expiresInSeconds, null);
    assert.equal(typeof r.sm.unacked, "number");

    await dropConnection(server, c);
    r = await phone();
    assert.equal(r.connected, false);
    assert.equal(r.hibernating, true);
    assert.equal(r.transport, null);
    assert.equal(typeof r.sm.expiresInSeconds, "number");
    c.close();
  }));

Deno.test("status: server-sent events carry the snapshot", () =>
  withServer(async (server) => {
    const cookie = await loginCookie(server, "alice@localhost", "wonderland");
    assert.equal((await fetch(statusUrl(server, "/status/events"))).status, 401);
    const res = await fetch(statusUrl(server, "/status/events"), { headers: { cookie } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    for (let i = 0; i < 20 && !text.includes("\n\nevent: status\ndata: "); i++) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    await reader.cancel();
    assert.match(text, /event: status\ndata: \{"version":/);
  }));

Deno.test("status: a host's own admins log in; s2s links both ways and components are listed", async () => {
  const [a, b] = await serverPair(
    { admins: ["alice@a.test"], components: { "comp.a.test": { secret: "s3cret" } } },
    { hosts: [{ domain: "b.test", admins: ["bob@b.test"] }] },
  );
  const alice = await loginAt(a, "alice", "wonderland", "a.test");
  const bob = await loginAt(b, "bob", "builder", "b.test");
  let component: TestClient | undefined;
  try {
    // b has no global admins: the host's own admin logs in there.
    const cookieA = await loginCookie(a, "alice@a.test", "wonderland");
    const cookieB = await loginCookie(b, "bob@b.test", "builder");

    alice.send(`<message to='bob@b.test' type='chat'><body>hi</body></message>`);
    await bob.stanza((e) => e.getChildText("body") === "hi");
    const out = (await statusData(a, cookieA)).body.s2s;
    assert.deepEqual(out.outgoing, [{
      local: "a.test",
      remote: "b.test",
      ready: true,
      shared: false,
    }]);
    const incoming = (await statusData(b, cookieB)).body.s2s.incoming;
    assert.deepEqual(incoming, [{ remote: ["a.test"] }]);

    assert.deepEqual((await statusData(a, cookieA)).body.components, [
      { domain: "comp.a.test", connected: false },
    ]);
    component = await connectComponent(a, "comp.a.test", "s3cret");
    assert.deepEqual((await statusData(a, cookieA)).body.components, [
      { domain: "comp.a.test", connected: true },
    ]);
  } finally {
    component?.close();
    alice.close();
    bob.close();
    await a.stop();
    await b.stop();
  }
});

Deno.test("status: over the HTTPS listener the login cookie is Secure", () =>
  withServer(async (server) => {
    const port = server.ports.https;
    const body = new URLSearchParams({ jid: "alice@localhost", password: "wonderland" }).toString();
    const { status, cookie } = await new Promise<{ status: number; cookie: string }>(
      (resolve, reject) => {
        const req = https.request({
          host: "127.0.0.1",
          port,
          servername: "localhost",
          method: "POST",
          path: "/status/login",
          rejectUnauthorized: false,
          headers: {
            host: `localhost:${port}`,
            origin: `https://localhost:${port}`,
            "content-type": "application/x-www-form-urlencoded",
            "content-length": String(body.length),
          },
        }, (res) => {
          res.resume();
          res.on(
            "end",
            () =>
              resolve({ status: res.statusCode!, cookie: String(res.headers["set-cookie"] ?? "") }),
          );
        });
        req.on("error", reject);
        req.end(body);
      },
    );
    assert.equal(status, 303);
    assert.match(cookie, /HttpOnly; SameSite=Strict; Secure$/);
  }));
