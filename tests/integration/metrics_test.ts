/**
 * /metrics, /health and /ready over real sockets: a login and a message
 * counted (before/after differences: the hot counters are process-wide),
 * auth failures by cause, the allow-list and token, the Prometheus text
 * variant, and readiness following listeners and storage.
 */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { imLogin } from "../helpers/im.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { fetchPath, parseOpenMetrics, type Scrape, scrape, value } from "../helpers/metrics.ts";
import { WsTestClient } from "../helpers/websocket_client.ts";
import { wsUrl } from "../helpers/websocket_server.ts";
import { dropConnection, smLogin } from "../helpers/sm.ts";
import { loginAt, serverPair } from "../helpers/federation.ts";
import { isReady } from "../../src/metrics/http.ts";
import { ServerMetrics } from "../../src/metrics/server_metrics.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";

const OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";

Deno.test("metrics count a login and a message, in well-formed OpenMetrics", async () => {
  const server = await startTestServer();
  try {
    const before = await scrape(server);
    assert.equal(before.contentType, OPENMETRICS);
    assert.equal(value(before, "parley_sessions_bound"), 0);

    const alice = await imLogin(server, "alice", "wonderland", "phone");
    const bob = await imLogin(server, "bob", "builder", "laptop");
    alice.send(`<message to='bob@localhost/laptop' type='chat'><body>hi</body></message>`);
    await bob.stanza((e) => e.name === "message" && e.getChildText("body") === "hi");

    const after = await scrape(server);
    const diff = (key: string) => value(after, key) - value(before, key);
    assert.equal(value(after, "parley_sessions_bound"), 2);
    assert.equal(value(after, "parley_sessions_available"), 2);
    assert.equal(value(after, "parley_sessions_hibernating"), 0);
    assert.ok(diff("parley_auth_successes_total") >= 2);
    assert.ok(diff('parley_client_connections_accepted_total{transport="tcp"}') >= 2);
    assert.ok(value(after, 'parley_client_connections{transport="tcp"}') >= 2);
    assert.ok(diff('parley_stanzas_received_total{kind="message"}') >= 1);
    assert.ok(diff('parley_stanzas_received_total{kind="presence"}') >= 2);
    assert.ok(diff('parley_stanzas_received_total{kind="iq"}') >= 2);
    assert.ok(diff('parley_stanzas_sent_total{kind="message"}') >= 1);
    // Logging in read the accounts: the storage histogram saw it.
    assert.ok(diff('parley_storage_operation_seconds_count{op="keyval_get"}') >= 2);
    assert.ok(value(after, "parley_process_resident_memory_bytes") > 0);
    assert.ok(value(after, "parley_process_heap_used_bytes") > 0);
    assert.equal(value(after, 'parley_s2s_links{direction="in"}'), 0);
    for (const family of ["parley_event_loop_delay_seconds", "parley_storage_operation_seconds"]) {
      assert.equal(after.types.get(family), "histogram");
    }
    alice.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("auth failures are counted by cause", async () => {
  const server = await startTestServer({
    auth: { perIpAndAccount: { maxFailures: 1, windowSeconds: 60 } },
  });
  try {
    const before = await scrape(server);
    const c = await TestClient.connect({ port: server.ports.c2sDirectTls, directTls: true });
    await c.open();
    assert.ok((await c.auth("PLAIN", "alice", "wrong")).getChild("not-authorized"));
    // The second wrong password for alice from this address: refused by the throttle.
    assert.ok((await c.auth("PLAIN", "alice", "wrong2")).getChild("temporary-auth-failure"));
    c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='NO-SUCH-MECH'/>`);
    const f = await c.stanza((e) => e.name === "failure");
    assert.ok(f.getChild("invalid-mechanism"), f.toString());
    c.close();

    const after = await scrape(server);
    const diff = (cause: string) =>
      value(after, `parley_auth_failures_total{cause="${cause}"}`) -
      value(before, `parley_auth_failures_total{cause="${cause}"}`);
    assert.equal(diff("not-authorized"), 1);
    assert.equal(diff("throttled"), 1);
    assert.equal(diff("invalid-mechanism"), 1);
  } finally {
    await server.stop();
  }
});

Deno.test("/metrics: the allow-list, the token, X-Forwarded-For and Prometheus text", async () => {
  const token = "s3cret-token-for-scrapers";
  const server = await startTestServer({
    metrics: { allowFrom: ["10.0.0.0/8"], token },
    http: { trustedProxies: ["127.0.0.1"] },
  });
  try {
    const refused = await fetchPath(server, "/metrics");
    assert.equal(refused.status, 403);
    await refused.body?.cancel();
    const wrong = await fetchPath(server, "/metrics", { authorization: "Bearer nope" });
    assert.equal(wrong.status, 403);
    await wrong.body?.cancel();
    // With the token: allowed from anywhere.
    const om = await scrape(server, { authorization: `Bearer ${token}` });
    assert.equal(om.contentType, OPENMETRICS);
    // From an allowed address (as a trusted proxy reports it): no token needed.
    await scrape(server, { "x-forwarded-for": "10.1.2.3" });
    const outside = await fetchPath(server, "/metrics", { "x-forwarded-for": "203.0.113.9" });
    assert.equal(outside.status, 403);
    await outside.body?.cancel();

    const prom = await fetchPath(server, "/metrics", {
      authorization: `Bearer ${token}`,
      accept: "text/plain",
    });
    assert.equal(prom.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const text = await prom.text();
    assert.ok(!text.includes("# EOF"));
    assert.ok(text.includes("# TYPE parley_auth_successes_total counter\n"));
    assert.ok(!text.includes("# UNIT"));
  } finally {
    await server.stop();
  }
});

Deno.test("/health and /ready need no credentials; /ready follows storage", async () => {
  const server = await startTestServer({ metrics: { allowFrom: [] } });
  try {
    const health = await fetchPath(server, "/health");
    assert.equal(health.status, 200);
    assert.equal(await health.text(), "ok\n");
    const ready = await fetchPath(server, "/ready");
    assert.equal(ready.status, 200);
    await ready.body?.cancel();
    const metrics = await fetchPath(server, "/metrics");
    assert.equal(metrics.status, 403);
    await metrics.body?.cancel();

    await server.storage.close();
    const down = await fetchPath(server, "/ready");
    assert.equal(down.status, 503);
    assert.equal(await down.text(), "not ready\n");
    const stillAlive = await fetchPath(server, "/health");
    assert.equal(stillAlive.status, 200);
    await stillAlive.body?.cancel();
  } finally {
    await server.stop();
  }
});

Deno.test("/ready is 503 until the listeners are up", async () => {
  const metrics = new ServerMetrics(true);
  const sources = { metrics, storage: new MemoryStorage(), probeHost: "localhost" };
  assert.equal(await isReady(sources), false);
  metrics.listening = true;
  assert.equal(await isReady(sources), true);
  metrics.stop();
  assert.equal(await isReady(sources), false);
});

Deno.test("metrics.enabled false: no /metrics, /health still served", async () => {
  const server = await startTestServer({ metrics: { enabled: false } });
  try {
    const res = await fetchPath(server, "/metrics");
    assert.equal(res.status, 404);
    await res.body?.cancel();
    const health = await fetchPath(server, "/health");
    assert.equal(health.status, 200);
    await health.body?.cancel();
  } finally {
    await server.stop();
  }
});

Deno.test("uploads are counted from the upload-stored event", async () => {
  const server = await startTestServer();
  try {
    const before = await scrape(server);
    server.hosts.get("localhost")!.events.emit("upload-stored", {
      owner: "alice@localhost",
      bytes: 1234,
    });
    const after = await scrape(server);
    assert.equal(value(after, "parley_uploads_total") - value(before, "parley_uploads_total"), 1);
    assert.equal(value(after, "parley_upload_bytes_total"), 1234);
  } finally {
    await server.stop();
  }
});

/** Scrape until `check` holds (bounded): closing is asynchronous. */
async function scrapeUntil(
  server: TestServer,
  check: (s: Scrape) => boolean,
  what: string,
): Promise<Scrape> {
  for (let i = 0; i < 200; i++) {
    const s = await scrape(server);
    if (check(s)) return s;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("metrics never showed " + what);
}

Deno.test("connection gauges follow each transport; hibernating sessions counted", async () => {
  const server = await startTestServer();
  try {
    const open = (s: Scrape, t: string) => value(s, `parley_client_connections{transport="${t}"}`);
    const accepted = (s: Scrape, t: string) =>
      value(s, `parley_client_connections_accepted_total{transport="${t}"}`);
    const before = await scrape(server);

    const ws = await WsTestClient.login(wsUrl(server), { user: "alice", password: "wonderland" });
    const tls = await TestClient.connect({ port: server.ports.c2sDirectTls, directTls: true });
    await tls.open();
    const during = await scrape(server);
    assert.equal(accepted(during, "websocket") - accepted(before, "websocket"), 1);
    assert.equal(open(during, "websocket") - open(before, "websocket"), 1);
    assert.equal(accepted(during, "tls") - accepted(before, "tls"), 1);
    assert.equal(open(during, "tls") - open(before, "tls"), 1);
    await ws.close();
    tls.close();
    await scrapeUntil(
      server,
      (s) =>
        open(s, "websocket") === open(before, "websocket") &&
        open(s, "tls") === open(before, "tls"),
      "the closed connections gone",
    );

    // Stream management keeps a dropped session: bound and hibernating, no connection.
    const { c } = await smLogin(server, "bob", "builder", "phone");
    await dropConnection(server, c);
    const kept = await scrape(server);
    assert.equal(value(kept, "parley_sessions_hibernating"), 1);
    assert.equal(value(kept, "parley_sessions_bound"), 1);
  } finally {
    await server.stop();
  }
});

Deno.test("s2s links in and out", async () => {
  const [a, b] = await serverPair();
  try {
    const alice = await loginAt(a, "alice", "wonderland", "a.test");
    const bob = await loginAt(b, "bob", "builder", "b.test");
    alice.send(`<message to='bob@b.test/r' type='chat' id='m1'><body>hello b</body></message>`);
    await bob.stanza((e) => e.name === "message" && e.attrs.id === "m1");
    const fromA = await scrape(a);
    const fromB = await scrape(b);
    assert.ok(value(fromA, 'parley_s2s_links{direction="out"}') >= 1);
    assert.ok(value(fromB, 'parley_s2s_links{direction="in"}') >= 1);
    alice.close();
    bob.close();
  } finally {
    await a.stop();
    await b.stop();
  }
});

Deno.test("the test's OpenMetrics check refuses what is not", () => {
  const ok = "# TYPE a counter\n# HELP a x\na_total 1\n# EOF\n";
  parseOpenMetrics(ok);
  assert.throws(() => parseOpenMetrics("# TYPE a counter\na_total 1\n"), /EOF/);
  assert.throws(() => parseOpenMetrics("# TYPE a counter\nb_total 1\n# EOF\n"), /family/);
  assert.throws(() => parseOpenMetrics("# TYPE a gauge\na_total 1\n# EOF\n"), /family/);
  const badBuckets = '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\n' +
    "h_sum 1\nh_count 1\n# EOF\n";
  assert.throws(() => parseOpenMetrics(badBuckets), /cumulative/);
});
