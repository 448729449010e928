import assert from "node:assert/strict";
import { parseHostPort, parseRoute, resolveTargets } from "../../src/s2s/resolve.ts";
import { DialbackKeys } from "../../src/s2s/dialback_key.ts";

const srv = (target: string, port: number, priority: number, weight: number) => ({
  target,
  port,
  priority,
  weight,
});

Deno.test("s2s resolve: a static route wins over DNS", async () => {
  const targets = await resolveTargets("b.test", { "b.test": "10.0.0.2:5999" }, () => {
    throw new Error("no DNS expected");
  });
  assert.deepEqual(targets, [{ host: "10.0.0.2", port: 5999, directTls: false }]);
});

Deno.test("s2s resolve: a tls:// static route selects direct TLS (XEP-0368)", async () => {
  const targets = await resolveTargets("b.test", { "b.test": "tls://10.0.0.2:5999" }, () => {
    throw new Error("no DNS expected");
  });
  assert.deepEqual(targets, [{ host: "10.0.0.2", port: 5999, directTls: true }]);
  assert.deepEqual(parseRoute("tls://[::1]"), { host: "::1", port: 5270, directTls: true });
  assert.deepEqual(parseRoute("xmpp.b.test"), {
    host: "xmpp.b.test",
    port: 5269,
    directTls: false,
  });
  assert.equal(parseRoute("tls://"), undefined);
});

Deno.test("s2s resolve: SRV records merged by priority, weight, direct TLS first (XEP-0368)", async () => {
  const targets = await resolveTargets("b.test", {}, (name) =>
    Promise.resolve(
      name.startsWith("_xmpps-server")
        ? [srv("tls.b.test.", 5270, 10, 0)]
        : [srv("backup.b.test.", 5269, 20, 0), srv("main.b.test.", 5269, 10, 0)],
    ));
  assert.deepEqual(targets.map((t) => `${t.host}:${t.port}:${t.directTls}`), [
    "tls.b.test:5270:true",
    "main.b.test:5269:false",
    "backup.b.test:5269:false",
  ]);
});

Deno.test("s2s resolve: no SRV falls back to the domain on 5269; '.' means no service", async () => {
  assert.deepEqual(
    await resolveTargets("b.test", {}, () => Promise.reject(new Error("NXDOMAIN"))),
    [
      { host: "b.test", port: 5269, directTls: false },
    ],
  );
  assert.deepEqual(
    await resolveTargets("b.test", {}, () => Promise.resolve([srv(".", 0, 0, 0)])),
    [],
  );
});

Deno.test("s2s resolve: host:port parsing", () => {
  assert.deepEqual(parseHostPort("[::1]:5270"), { host: "::1", port: 5270 });
  assert.deepEqual(parseHostPort("example.net"), { host: "example.net", port: 5269 });
  assert.equal(parseHostPort("x:99999"), undefined);
});

Deno.test("dialback keys (XEP-0185): recomputed, bound to domains and stream id", () => {
  const keys = new DialbackKeys("s3cr3t");
  const key = keys.generate("b.test", "a.test", "id1");
  assert.match(key, /^[0-9a-f]{64}$/);
  assert.ok(keys.verify("b.test", "a.test", "id1", key));
  assert.ok(!keys.verify("b.test", "a.test", "id2", key));
  assert.ok(!keys.verify("c.test", "a.test", "id1", key));
  assert.ok(!new DialbackKeys("other").verify("b.test", "a.test", "id1", key));
});
