/**
 * Heap per idle input: 10 000 instances of each (FrameInput, and the
 * TextDecoderStream → TransformStream chain it replaced), each fed a
 * stream header and one stanza, then left idle; heap used (after a full
 * GC) before and after, divided by the count. FrameInput is also measured
 * after the idle sweep has compacted its parser (what a connection idle
 * for a few seconds costs).
 * `deno run --allow-all --v8-flags=--expose-gc bench/frame_input_memory.ts`
 */
import { frameInput, HEADER, WebStreamsInput } from "./frame_input_shared.ts";
import type { FrameInput } from "../src/stream/frame_input.ts";

const N = Number(Deno.args[0] ?? 10_000);
const STANZA = new TextEncoder().encode("<presence><priority>1</priority></presence>");
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");

async function heap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise((r) => setTimeout(r, 10));
  }
  return Deno.memoryUsage().heapUsed;
}

const kb = (bytes: number) => (bytes / 1024).toFixed(2);

async function measure<T>(name: string, make: () => T, after?: (all: T[]) => void) {
  const before = await heap();
  const all: T[] = [];
  for (let i = 0; i < N; i++) all.push(make());
  await new Promise((r) => setTimeout(r, 50));
  const used = await heap();
  console.log(`${name}: ${kb((used - before) / N)} KB per idle instance`);
  if (after) {
    after(all);
    const compact = await heap();
    console.log(
      `${name}, after the idle sweep: ${kb((compact - before) / N)} KB per idle instance`,
    );
  }
  return all;
}

let frames = 0;
const fis = await measure<FrameInput>("FrameInput", () => {
  const input = frameInput(() => void frames++);
  input.push(HEADER);
  input.push(STANZA);
  return input;
}, (all) => {
  // Two sweeps: the first sees the data of the period, the second compacts.
  for (const input of all) input.sweep();
  for (const input of all) input.sweep();
});
for (const input of fis) input.stop();
fis.length = 0;

const wss = await measure("TextDecoderStream → TransformStream", () => {
  const input = new WebStreamsInput(() => void frames++);
  void input.push(HEADER);
  void input.push(STANZA);
  return input;
});
if (frames !== 4 * N) console.log(`warning: ${frames} frames, expected ${4 * N}`);
for (const input of wss) input.stop();
console.log(`Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, N=${N}`);
