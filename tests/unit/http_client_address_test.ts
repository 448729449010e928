import assert from "node:assert/strict";
import { clientOrigin, rangeProblem, TrustedProxies } from "../../src/http/client_address.ts";

const headers = (h: Record<string, string>) => new Headers(h);

Deno.test("trusted proxies: addresses and CIDR ranges, IPv4 and IPv6", () => {
  const t = new TrustedProxies(["10.0.0.0/8", "192.0.2.7", "fd00::/8", "::1"]);
  assert.ok(t.has("10.200.3.4"));
  assert.ok(t.has("::ffff:10.1.1.1"));
  assert.ok(t.has("192.0.2.7"));
  assert.ok(!t.has("192.0.2.8"));
  assert.ok(!t.has("11.0.0.1"));
  assert.ok(t.has("fd12:3456::1"));
  assert.ok(!t.has("fe80::1"));
  assert.ok(t.has("::1"));
  assert.ok(!t.has("::2"));
  assert.ok(!t.has("not an address"));
  assert.ok(new TrustedProxies(["0.0.0.0/0"]).has("203.0.113.1"));
  assert.equal(rangeProblem("10.0.0.0/8"), undefined);
  for (const bad of ["10.0.0.0/33", "example.com", "10.0.0.1/8/1", "::/129", ""]) {
    assert.ok(rangeProblem(bad), bad);
  }
});

Deno.test("X-Forwarded-For: ignored from an untrusted peer", () => {
  const t = new TrustedProxies(["10.0.0.1"]);
  const h = headers({ "x-forwarded-for": "1.2.3.4", "x-forwarded-proto": "https" });
  assert.deepEqual(clientOrigin("203.0.113.5", false, h, t), {
    address: "203.0.113.5",
    secure: false,
  });
});

Deno.test("X-Forwarded-For: the right-most address that is not a trusted proxy", () => {
  const t = new TrustedProxies(["10.0.0.0/8"]);
  // A client can put anything on the left; only what our proxies appended counts.
  const h = headers({ "x-forwarded-for": "6.6.6.6, 198.51.100.2, 10.0.0.9" });
  assert.equal(clientOrigin("10.0.0.1", false, h, t).address, "198.51.100.2");
  // All hops trusted: the left-most one is the client.
  assert.equal(
    clientOrigin("10.0.0.1", false, headers({ "x-forwarded-for": "10.1.1.1, 10.2.2.2" }), t)
      .address,
    "10.1.1.1",
  );
  // Ports and brackets are removed; garbage stops the walk at the last good hop.
  assert.equal(
    clientOrigin("10.0.0.1", false, headers({ "x-forwarded-for": "[2001:db8::1]:4711" }), t)
      .address,
    "2001:db8::1",
  );
  assert.equal(
    clientOrigin("10.0.0.1", false, headers({ "x-forwarded-for": "junk, 10.3.3.3" }), t).address,
    "10.3.3.3",
  );
  // No header: the proxy itself.
  assert.equal(clientOrigin("10.0.0.1", true, headers({}), t).address, "10.0.0.1");
});

Deno.test("X-Forwarded-Proto from a trusted proxy sets whether the client used TLS", () => {
  const t = new TrustedProxies(["127.0.0.1"]);
  assert.equal(
    clientOrigin("127.0.0.1", false, headers({ "x-forwarded-proto": "https" }), t).secure,
    true,
  );
  assert.equal(
    clientOrigin("127.0.0.1", true, headers({ "x-forwarded-proto": "http" }), t).secure,
    false,
  );
  assert.equal(clientOrigin("127.0.0.1", true, headers({}), t).secure, true);
});
