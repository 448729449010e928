import assert from "node:assert/strict";
import { UnsentTracker } from "../../src/net/unsent_tracker.ts";

/** A connection's output counters, moved by hand. */
function fakeConn() {
  return { written: 0, pending: 0 };
}

Deno.test("UnsentTracker: keeps only what the kernel has not taken, then what comes after stop", () => {
  const conn = fakeConn();
  const unsent = new UnsentTracker<string>(conn);
  const write = (item: string) => {
    unsent.record(item, item.length);
    conn.written += item.length;
    conn.pending += item.length;
  };
  write("aaaa");
  write("bbbb");
  write("cccc");
  // The kernel took the first item and half of the second.
  conn.pending -= 6;
  unsent.stop();
  assert.ok(unsent.stopped);
  unsent.keep("dddd");
  assert.deepEqual(unsent.take(), ["bbbb", "cccc", "dddd"]);
  // Once taken, later items are dropped.
  unsent.keep("eeee");
  assert.deepEqual(unsent.take(), []);
});

Deno.test("UnsentTracker: prunes as it records, so it spans no more than what is pending", () => {
  const conn = fakeConn();
  const unsent = new UnsentTracker<number>(conn);
  for (let i = 0; i < 10_000; i++) {
    unsent.record(i, 10);
    conn.written += 10;
    // The kernel keeps up: at most 3 items pending at once.
    conn.pending = Math.min(conn.pending + 10, 30);
  }
  unsent.stop();
  assert.deepEqual(unsent.take(), [9997, 9998, 9999]);
});

Deno.test("UnsentTracker: before stop, keep and take hold nothing", () => {
  const unsent = new UnsentTracker<string>(fakeConn());
  unsent.keep("x");
  assert.deepEqual(unsent.take(), []);
  assert.equal(unsent.stopped, false);
});
