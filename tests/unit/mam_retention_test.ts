/** The retention sweeper's timer: sweeps with the right cutoff, stops for good. */
import assert from "node:assert/strict";
import { RetentionSweeper } from "../../src/modules/mam/retention.ts";
import type { ArchiveStore } from "../../src/storage/types.ts";
import { logger } from "../../src/log.ts";

function fakeStore(cutoffs: number[]): ArchiveStore {
  const no = () => Promise.reject(new Error("not used"));
  return {
    append: no,
    find: no,
    count: no,
    delete: no,
    expire: (before) => {
      cutoffs.push(before);
      return Promise.resolve(1);
    },
  };
}

Deno.test("retention: sweep cuts at now minus the retention; 0 days never sweeps", async () => {
  const cutoffs: number[] = [];
  const s = new RetentionSweeper(fakeStore(cutoffs), 2, logger("mod", "mam"));
  assert.equal(await s.sweep(10 * 86_400_000), 1);
  assert.deepEqual(cutoffs, [8 * 86_400_000]);
  const never = new RetentionSweeper(fakeStore(cutoffs), 0, logger("mod", "mam"));
  never.start();
  assert.equal(await never.sweep(), 0);
  never.stop();
  assert.equal(cutoffs.length, 1);
});

Deno.test("retention: the timer sweeps at start and each period, and not after stop", async () => {
  const cutoffs: number[] = [];
  const s = new RetentionSweeper(fakeStore(cutoffs), 1, logger("mod", "mam"), 5);
  s.start();
  for (let i = 0; i < 200 && cutoffs.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cutoffs.length >= 3, `swept ${cutoffs.length} times`);
  s.stop();
  const n = cutoffs.length;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(cutoffs.length, n);
  assert.equal(await s.sweep(), 0);
});
