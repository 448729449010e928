/**
 * Time per 64 KB chunk of typical client stanzas through the c2s input
 * path: FrameInput (push-based: streaming TextDecoder → XmlFrameParser →
 * handler, synchronous) against the TextDecoderStream → TransformStream
 * chain it replaced, same parser, same input. Each iteration feeds one
 * chunk and waits until its last stanza reached the handler.
 * `deno bench --allow-all bench/frame_input_bench.ts`; numbers in
 * bench/results/frame_input.md.
 */
import {
  frameInput,
  HEADER,
  SMALL_STANZA,
  stanzaChunk,
  WebStreamsInput,
} from "./frame_input_shared.ts";

const { bytes: CHUNK, stanzas: PER_CHUNK } = stanzaChunk();

let fiCount = 0;
let fiWanted = 0;
let fiDone: () => void = () => {};
const fi = frameInput((f) => {
  if (f.kind === "stanza" && ++fiCount === fiWanted) fiDone();
});
fi.push(HEADER);

Deno.bench({
  name: `FrameInput: one 64 KB chunk (${PER_CHUNK} stanzas)`,
  group: "chunk",
  baseline: true,
  async fn() {
    fiWanted = fiCount + PER_CHUNK;
    const done = new Promise<void>((r) => fiDone = r);
    fi.push(CHUNK);
    await done;
  },
});

let wsCount = 0;
let wsWanted = 0;
let wsDone: () => void = () => {};
const ws = new WebStreamsInput((f) => {
  if (f.kind === "stanza" && ++wsCount === wsWanted) wsDone();
});
void ws.push(HEADER);

Deno.bench({
  name: `TextDecoderStream → TransformStream: one 64 KB chunk (${PER_CHUNK} stanzas)`,
  group: "chunk",
  async fn() {
    wsWanted = wsCount + PER_CHUNK;
    const done = new Promise<void>((r) => wsDone = r);
    void ws.push(CHUNK);
    await done;
  },
});

Deno.bench({
  name: "FrameInput: one chunk of one stanza",
  group: "small",
  baseline: true,
  async fn() {
    fiWanted = fiCount + 1;
    const done = new Promise<void>((r) => fiDone = r);
    fi.push(SMALL_STANZA);
    await done;
  },
});

Deno.bench({
  name: "TextDecoderStream → TransformStream: one chunk of one stanza",
  group: "small",
  async fn() {
    wsWanted = wsCount + 1;
    const done = new Promise<void>((r) => wsDone = r);
    void ws.push(SMALL_STANZA);
    await done;
  },
});
