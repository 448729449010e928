import assert from "node:assert/strict";
import { ConnectionLimiter, type Slot } from "../../src/net/connection_limiter.ts";
import { OncePerWindow } from "../../src/util/once_per_window.ts";
import { refusalStream } from "../../src/net/refusal.ts";

Deno.test("ConnectionLimiter: unauthenticated per IP, all per IP, and the total", () => {
  const limiter = new ConnectionLimiter({ maxTotal: 5, maxPerIp: 3, maxUnauthenticatedPerIp: 2 });
  const a1 = limiter.acquire("a") as Slot;
  const a2 = limiter.acquire("a") as Slot;
  assert.equal(limiter.acquire("a"), "unauthenticated");
  // Authenticating frees an unauthenticated place, not a place of the address.
  limiter.authenticated(a1);
  limiter.authenticated(a1); // twice counts once
  const a3 = limiter.acquire("a") as Slot;
  assert.equal(typeof a3, "object");
  limiter.authenticated(a2);
  limiter.authenticated(a3);
  assert.equal(limiter.acquire("a"), "per-ip");
  assert.equal(limiter.count("a"), 3);
  assert.equal(limiter.count("a", true), 0);
  const b1 = limiter.acquire("b") as Slot;
  limiter.acquire("b");
  assert.equal(limiter.acquire("c"), "total");
  limiter.release(b1);
  limiter.release(b1); // twice counts once
  assert.equal(typeof limiter.acquire("c"), "object");
  for (const s of [a1, a2, a3]) limiter.release(s);
  assert.equal(limiter.count("a"), 0);
  assert.equal(limiter.total, 2);
});

Deno.test("OncePerWindow: one line per address per window, saying how many went unlogged", () => {
  const log = new OncePerWindow(1000);
  assert.equal(log.note("a", 0), 0);
  assert.equal(log.note("a", 10), undefined);
  assert.equal(log.note("a", 999), undefined);
  assert.equal(log.note("b", 20), 0);
  assert.equal(log.note("a", 1000), 2);
  assert.equal(log.note("a", 1500), undefined);
});

Deno.test("refusalStream: a header in the stream's namespace, then the stream error", () => {
  const text = refusalStream("jabber:server", "total");
  assert.match(text, /^<\?xml version='1.0'\?><stream:stream xmlns='jabber:server' /);
  assert.match(
    text,
    /<stream:error><resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-streams'\/>/,
  );
  assert.match(text, /<\/stream:error><\/stream:stream>$/);
  assert.match(refusalStream("jabber:client", "unauthenticated"), /<policy-violation /);
});

Deno.test("ConnectionLimiter: an IPv6 /64 is one client; IPv4 addresses each their own", () => {
  const limiter = new ConnectionLimiter({ maxTotal: 100, maxPerIp: 2, maxUnauthenticatedPerIp: 2 });
  const a = limiter.acquire("2001:db8:1:2::1");
  assert.equal(typeof a, "object");
  assert.equal(typeof limiter.acquire("2001:db8:1:2:ffff::9"), "object");
  // A third address of the same /64: its subscriber already holds two.
  assert.equal(limiter.acquire("2001:db8:1:2:abcd::3"), "per-ip");
  assert.equal(limiter.count("2001:db8:1:2::77"), 2);
  assert.equal(typeof limiter.acquire("2001:db8:1:3::1"), "object");
  limiter.release(a as Slot);
  assert.equal(limiter.count("2001:db8:1:2::1"), 1);
  for (const ip of ["192.0.2.1", "192.0.2.2", "192.0.2.3"]) {
    assert.equal(typeof limiter.acquire(ip), "object", ip);
  }
});
