/**
 * Fuzzing the stream parser and FrameInput with structure-aware mutations
 * of valid XMPP sessions (tests/helpers/fuzz.ts): deep nesting, huge and
 * numerous attributes, long names, splices of other sessions,
 * truncation, repeated headers, mismatched end tags, byte flips and
 * invalid UTF-8, cut into random chunks.
 *
 * Checked for every input: nothing throws; frames end with at most one
 * error and nothing follows an error or the stream close; no stanza is
 * deeper or larger than the limits; no write takes long (no hang); and
 * the same text in one chunk or in random chunks gives the same frames.
 *
 * Runs 1.5 s in CI. Longer: `PARLEY_FUZZ_SECONDS=600 deno test -A
 * tests/unit/xml_parser_fuzz_test.ts`; replay a failure with the seed it
 * prints: `PARLEY_FUZZ_SEED=<seed>`.
 */
import assert from "node:assert/strict";
import { type Frame, XmlFrameParser } from "../../src/xml/parser.ts";
import { type Element, serialize } from "../../src/xml/element.ts";
import { FrameInput } from "../../src/stream/frame_input.ts";
import {
  chunkSizes,
  fuzzSeconds,
  fuzzSeed,
  mutate,
  Rng,
  toBytes,
  WHOLE_SESSIONS as ALL,
} from "../helpers/fuzz.ts";

const LIMITS = { maxStanzaSize: 65536, maxStanzaDepth: 32 };
/** A single write or push taking this long is a hang (generous: CI machines are loaded). */
const SLOW_MS = 2000;

function depthOf(root: Element): number {
  let max = 0;
  const stack: [Element, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [e, d] = stack.pop()!;
    max = Math.max(max, d);
    for (const c of e.children) if (typeof c !== "string") stack.push([c, d + 1]);
  }
  return max;
}

/** Frames as comparable strings. */
function describe(f: Frame): string {
  if (f.kind === "stanza") return "stanza " + serialize(f.element);
  if (f.kind === "open") return "open " + JSON.stringify(f.attrs);
  return f.kind;
}

function checkFrames(frames: Frame[], what: string): void {
  let ended = false;
  for (const f of frames) {
    assert.ok(!ended, `${what}: a frame after an error or the close`);
    if (f.kind === "error" || f.kind === "close") ended = true;
    if (f.kind === "stanza") {
      assert.ok(f.size <= LIMITS.maxStanzaSize, `${what}: stanza of ${f.size} chars`);
      assert.ok(depthOf(f.element) <= LIMITS.maxStanzaDepth, `${what}: stanza too deep`);
    }
  }
}

function parseChunks(text: string, sizes: number[], restarts = true): Frame[] {
  const frames: Frame[] = [];
  const p = new XmlFrameParser((f) => {
    frames.push(f);
    if (restarts && f.kind === "stanza" && f.element.name === "auth") p.reset();
  }, LIMITS);
  let at = 0;
  for (const n of sizes) {
    const t0 = performance.now();
    p.write(text.slice(at, at + n));
    at += n;
    const took = performance.now() - t0;
    assert.ok(took < SLOW_MS, `a write of ${n} chars took ${took.toFixed(0)} ms`);
  }
  return frames;
}

/**
 * Feeds FrameInput as a socket would: while it asks for reading to pause,
 * nothing more is pushed (a test that pushed on would only measure the
 * bound on waiting input, and when that bound is hit depends on timing).
 */
async function throughFrameInput(bytes: Uint8Array, sizes: number[]): Promise<Frame[]> {
  const frames: Frame[] = [];
  let idle: (() => void) | undefined;
  let waiting = false;
  const input = new FrameInput(
    (f) => void frames.push(f),
    LIMITS,
    (full) => {
      waiting = full;
      if (!full) idle?.();
    },
    (err) => {
      throw err;
    },
  );
  const done = () => frames.at(-1)?.kind === "error" || frames.at(-1)?.kind === "close";
  const whenIdle = async () => {
    if (!waiting || done()) return;
    let timer!: ReturnType<typeof setTimeout>;
    await Promise.race([
      new Promise<void>((r) => idle = r),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("FrameInput never finished")), SLOW_MS * 5);
      }),
    ]).finally(() => clearTimeout(timer));
  };
  let at = 0;
  for (const n of sizes) {
    await whenIdle();
    const t0 = performance.now();
    input.push(bytes.subarray(at, at + n));
    at += n;
    assert.ok(performance.now() - t0 < SLOW_MS, "a push took too long");
  }
  await whenIdle();
  input.stop();
  return frames;
}

/** FrameInput's bound on input waiting to be parsed: one push larger than it ends the stream. */
const OVERRUN = "Too much input waiting";

Deno.test("fuzz: the parser and FrameInput survive mutated sessions in any chunking", async () => {
  const seed = fuzzSeed();
  const rng = new Rng(seed);
  const end = performance.now() + fuzzSeconds(1.5) * 1000;
  let runs = 0;
  let text = "";
  try {
    while (performance.now() < end) {
      runs++;
      text = mutate(rng.pick(ALL), rng, ALL);
      // A stanza named `auth` restarts the stream, as SASL success does.
      const whole = parseChunks(text, [text.length]);
      checkFrames(whole, "one chunk");
      const pieces = parseChunks(text, chunkSizes(text.length, rng));
      checkFrames(pieces, "random chunks");
      // Chunking may change which of two faults is found first, not what was parsed.
      const ok = (fs: Frame[]) => fs.filter((f) => f.kind !== "error").map(describe);
      assert.deepEqual(ok(pieces), ok(whole), "random chunks differ from one chunk");
      assert.equal(
        pieces.at(-1)?.kind === "error",
        whole.at(-1)?.kind === "error",
        "an error in one chunking only",
      );
      const bytes = toBytes(text, rng);
      const viaInput = await throughFrameInput(bytes, chunkSizes(bytes.length, rng));
      checkFrames(viaInput, "FrameInput");
      const exact = new TextEncoder().encode(text);
      const overrun = viaInput.some((f) => f.kind === "error" && f.text === OVERRUN);
      if (
        !overrun && bytes.length === exact.length && bytes.every((b, i) => b === exact[i])
      ) {
        // Unchanged bytes: the same frames as the parser alone (no restarts here:
        // FrameInput may parse ahead of a handler, as after a real SASL success).
        // (Compared with the text as decoded: a lone surrogate is encoded as U+FFFD.)
        const decoded = new TextDecoder().decode(exact);
        const plain = parseChunks(decoded, [decoded.length], false);
        assert.deepEqual(ok(viaInput), ok(plain), "FrameInput differs from the parser");
        assert.equal(viaInput.at(-1)?.kind === "error", plain.at(-1)?.kind === "error");
      }
    }
  } catch (err) {
    console.error(
      `fuzz failed after ${runs} runs; replay with PARLEY_FUZZ_SEED=${seed}\n` +
        `input (first 2000 chars): ${JSON.stringify(text.slice(0, 2000))}`,
    );
    throw err;
  }
});
