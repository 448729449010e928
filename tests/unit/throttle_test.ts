import assert from "node:assert/strict";
import { FailureThrottle } from "../../src/auth/throttle.ts";

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (seconds: number) => t += seconds * 1000 };
}

Deno.test("blocks after maxFailures within the window", () => {
  const c = clock();
  const t = new FailureThrottle(3, 60, c.now);
  for (let i = 0; i < 2; i++) t.fail("1.2.3.4");
  assert.equal(t.isBlocked("1.2.3.4"), false);
  t.fail("1.2.3.4");
  assert.equal(t.isBlocked("1.2.3.4"), true);
  assert.equal(t.isBlocked("5.6.7.8"), false, "keys are independent");
});

Deno.test("the block lifts when the window ends", () => {
  const c = clock();
  const t = new FailureThrottle(2, 60, c.now);
  t.fail("k");
  t.fail("k");
  c.advance(59);
  assert.equal(t.isBlocked("k"), true);
  c.advance(1);
  assert.equal(t.isBlocked("k"), false);
  t.fail("k");
  assert.equal(t.isBlocked("k"), false, "a new window starts counting afresh");
});

Deno.test("success clears the record", () => {
  const t = new FailureThrottle(2, 60, clock().now);
  t.fail("alice");
  t.succeed("alice");
  t.fail("alice");
  assert.equal(t.isBlocked("alice"), false);
});

Deno.test("expired entries are swept as new keys arrive", () => {
  const c = clock();
  const t = new FailureThrottle(5, 10, c.now);
  for (let i = 0; i < 100; i++) t.fail(`old${i}`);
  c.advance(11);
  t.fail("new");
  assert.equal(t.size, 1);
});

Deno.test("memory is capped: the oldest keys are evicted", () => {
  const c = clock();
  const t = new FailureThrottle(1, 3600, c.now, 1000);
  for (let i = 0; i < 5000; i++) {
    t.fail(`ip${i}`);
    c.advance(0.001);
  }
  assert.equal(t.size, 1000);
  assert.equal(t.isBlocked("ip0"), false, "evicted");
  assert.equal(t.isBlocked("ip4999"), true);
});
