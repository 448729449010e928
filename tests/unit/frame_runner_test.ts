import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { FrameRunner } from "../../src/stream/frame_runner.ts";
import type { Frame } from "../../src/xml/parser.ts";

const close: Frame = { kind: "close" };
const error: Frame = { kind: "error", condition: "policy-violation", text: "x" };

Deno.test("FrameRunner: busy until a handler's promise settles; a rejection reaches onError with its frame, then onSettled", async () => {
  const seen: string[] = [];
  const { promise, reject } = Promise.withResolvers<void>();
  const runner = new FrameRunner(
    () => promise,
    (err, frame) => seen.push(`error ${err} ${frame.kind}`),
    () => seen.push("settled"),
  );
  runner.run(close);
  assertEquals(runner.busy, true);
  reject("boom");
  await promise.catch(() => {});
  await Promise.resolve();
  assertEquals(seen, ["error boom close", "settled"]);
  assertEquals(runner.busy, false);
});

Deno.test("FrameRunner: a handler that throws reaches onError at once and leaves it idle", () => {
  const seen: string[] = [];
  const runner = new FrameRunner(
    (f) => {
      throw new Error(f.kind);
    },
    (err, frame) => seen.push(`${(err as Error).message} ${frame.kind}`),
    () => seen.push("settled"),
  );
  runner.run(close);
  assertEquals(seen, ["close close"]);
  assertEquals(runner.busy, false);
});

Deno.test("FrameRunner: a frame run beside a pending one keeps its own frame for onError", async () => {
  const seen: string[] = [];
  const first = Promise.withResolvers<void>();
  const second = Promise.withResolvers<void>();
  const runner = new FrameRunner(
    (f) => f.kind === "close" ? first.promise : second.promise,
    (err, frame) => seen.push(`error ${err} ${frame.kind}`),
    () => seen.push("settled"),
  );
  runner.run(close);
  runner.run(error);
  second.reject("late");
  first.resolve();
  await first.promise;
  await second.promise.catch(() => {});
  await Promise.resolve();
  assertEquals(seen.sort(), ["error late error", "settled"]);
  assertEquals(runner.busy, false);
});
