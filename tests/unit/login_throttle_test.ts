import assert from "node:assert/strict";
import { accountKey, LoginThrottle } from "../../src/auth/login_throttle.ts";
import { addressKey } from "../../src/net/address_key.ts";

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (seconds: number) => t += seconds * 1000 };
}

const LIMITS = {
  perIp: { maxFailures: 10, windowSeconds: 60 },
  perIpAndAccount: { maxFailures: 5, windowSeconds: 60 },
  perAccount: { maxFailures: 100, windowSeconds: 60 },
};
const ALICE = "alice@example.com";

Deno.test("failures from one address refuse that address for the account, not the owner elsewhere", () => {
  const t = new LoginThrottle(LIMITS, clock().now);
  for (let i = 0; i < 5; i++) {
    assert.equal(t.refusal(ALICE, "192.0.2.66"), undefined, `failure ${i + 1} is told`);
    t.failed(ALICE, "192.0.2.66");
  }
  assert.equal(t.refusal(ALICE, "192.0.2.66"), "ip-and-account");
  assert.equal(t.refusal(ALICE, "198.51.100.7"), undefined, "the owner's address is not refused");
  assert.equal(t.refusal("bob@example.com", "192.0.2.66"), undefined, "other accounts are not");
  assert.equal(t.ipBlocked("192.0.2.66"), false, "5 failures are under the per-address limit");
});

Deno.test("the per-address limit holds across accounts (password spraying)", () => {
  const t = new LoginThrottle(LIMITS, clock().now);
  for (let i = 0; i < 10; i++) t.failed(`user${i}@example.com`, "192.0.2.66");
  assert.equal(t.ipBlocked("192.0.2.66"), true);
  assert.equal(t.refusal("fresh@example.com", "192.0.2.66"), "ip");
  assert.equal(t.ipBlocked("192.0.2.67"), false);
});

Deno.test("the per-account ceiling counts every address together", () => {
  const t = new LoginThrottle(LIMITS, clock().now);
  // 25 addresses, 4 failures each: no address reaches its own limits.
  for (let a = 0; a < 25; a++) {
    for (let i = 0; i < 4; i++) t.failed(ALICE, `203.0.113.${a}`);
  }
  assert.equal(t.refusal(ALICE, "203.0.113.0"), "account");
  assert.equal(t.refusal(ALICE, "198.51.100.7"), "account", "a ceiling for all addresses");
  assert.equal(t.refusal("bob@example.com", "198.51.100.7"), undefined);
});

Deno.test("success clears only its own (account, address) pair", () => {
  const t = new LoginThrottle(
    { ...LIMITS, perAccount: { maxFailures: 8, windowSeconds: 60 } },
    clock().now,
  );
  for (let i = 0; i < 4; i++) t.failed(ALICE, "192.0.2.1");
  for (let i = 0; i < 4; i++) t.failed("victim@example.com", "192.0.2.1");
  t.succeeded(ALICE, "192.0.2.1");
  t.failed(ALICE, "192.0.2.1");
  assert.equal(t.refusal(ALICE, "192.0.2.1"), undefined, "the pair counts afresh");
  // An attacker's own successful login does not reset the address counter...
  t.failed("victim@example.com", "192.0.2.1");
  assert.equal(t.ipBlocked("192.0.2.1"), true, "4 + 1 + 4 + 1 = 10 failures");
  // ...nor does the owner's login reset the ceiling for everyone else.
  for (let i = 0; i < 4; i++) t.failed(ALICE, "192.0.2.2");
  t.succeeded(ALICE, "192.0.2.3");
  assert.equal(t.refusal(ALICE, "192.0.2.3"), "account", "9 failures on alice, ceiling 8");
});

Deno.test("windows end: every limit lifts", () => {
  const c = clock();
  const t = new LoginThrottle(LIMITS, c.now);
  for (let i = 0; i < 100; i++) t.failed(ALICE, `203.0.113.${i % 50}`);
  for (let i = 0; i < 10; i++) t.failed("x@example.com", "192.0.2.9");
  assert.equal(t.refusal(ALICE, "198.51.100.7"), "account");
  assert.equal(t.ipBlocked("192.0.2.9"), true);
  c.advance(60);
  assert.equal(t.refusal(ALICE, "198.51.100.7"), undefined);
  assert.equal(t.ipBlocked("192.0.2.9"), false);
});

Deno.test("memory is bounded: keys are capped and long accounts are stored as digests", () => {
  const c = clock();
  const t = new LoginThrottle(LIMITS, c.now, 1000);
  const long = "x".repeat(1023);
  for (let i = 0; i < 5000; i++) {
    t.failed(`${long}${i}@example.com`, `10.${i >> 16 & 255}.${i >> 8 & 255}.${i & 255}`);
    c.advance(0.001);
  }
  assert.equal(t.size, 3000, "1000 keys per counter");
  // Each key holds a fixed-size digest of the account, not the ~1 KB name.
  assert.equal(accountKey(`${long}1@example.com`).length, 22);
  assert.notEqual(accountKey(`${long}1@example.com`), accountKey(`${long}2@example.com`));
});

Deno.test("IPv6 addresses count per /64, IPv4 per address", () => {
  assert.equal(addressKey("192.0.2.1"), "192.0.2.1");
  assert.equal(addressKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  assert.equal(addressKey("2001:DB8:1:2:bbbb:cccc:dddd:eeee"), "2001:db8:1:2::/64");
  assert.equal(addressKey("2001:0db8:0001:0002::9%eth0"), "2001:db8:1:2::/64");
  assert.equal(addressKey("2001:db8::1"), "2001:db8:0:0::/64");
  assert.equal(addressKey("::1"), "0:0:0:0::/64");
  assert.equal(addressKey("64:ff9b::192.0.2.1"), "64:ff9b:0:0::/64");
  assert.equal(addressKey("fe80::1:2:3:4:5"), "fe80:0:0:1::/64");
  assert.equal(addressKey("not:an:address"), "not:an:address");
  const t = new LoginThrottle(LIMITS, clock().now);
  for (let i = 0; i < 10; i++) t.failed(`u${i}@example.com`, `2001:db8:1:2::${i + 1}`);
  assert.equal(t.ipBlocked("2001:db8:1:2:ffff::1"), true, "the whole /64 is one client");
  assert.equal(t.ipBlocked("2001:db8:1:3::1"), false);
});
