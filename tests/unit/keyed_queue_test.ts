import assert from "node:assert/strict";
import { KeyedQueue } from "../../src/util/keyed_queue.ts";

Deno.test("KeyedQueue: jobs of one key run one after another, even after a failure", async () => {
  const q = new KeyedQueue();
  const log: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const first = q.run("a", async () => {
    log.push("a1 start");
    await gate;
    log.push("a1 end");
    throw new Error("a1 failed");
  });
  const second = q.run("a", () => {
    log.push("a2");
    return 2;
  });
  // Another key does not wait for "a".
  assert.equal(await q.run("b", () => "b"), "b");
  assert.deepEqual(log, ["a1 start"]);
  assert.ok(q.pending("a") !== undefined);
  release();
  await assert.rejects(first, /a1 failed/);
  assert.equal(await second, 2);
  assert.deepEqual(log, ["a1 start", "a1 end", "a2"]);
  await q.pending("a");
  assert.equal(q.pending("a"), undefined);
  assert.equal(q.pending("b"), undefined);
});
