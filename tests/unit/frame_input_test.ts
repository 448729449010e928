import assert from "node:assert/strict";
import { FrameInput } from "../../src/stream/frame_input.ts";
import type { Frame } from "../../src/xml/parser.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const LIMITS = { maxStanzaSize: 10_000, maxStanzaDepth: 32 };
const HEADER =
  "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

Deno.test("frames wait in order behind an async handler, and reading pauses when they pile up", async () => {
  const seen: string[] = [];
  const backlog: boolean[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const input = new FrameInput(
    (f: Frame) => {
      seen.push(f.kind === "stanza" ? f.element.attrs.id! : f.kind);
      if (f.kind === "stanza" && f.element.attrs.id === "0") return gate;
    },
    LIMITS,
    (full) => backlog.push(full),
    (e) => {
      throw e;
    },
  );
  input.push(bytes(HEADER));
  for (let i = 0; i < 40; i++) input.push(bytes(`<message id='${i}'/>`));
  assert.deepEqual(seen, ["open", "0"], "the rest waits for the slow handler");
  assert.deepEqual(backlog, [true]);
  release();
  await gate;
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(seen.length, 41);
  assert.deepEqual(seen.slice(2, 5), ["1", "2", "3"]);
  assert.deepEqual(backlog, [true, false]);
  input.stop();
});

Deno.test("invalid UTF-8 becomes an unsupported-encoding error frame (RFC 6120 §4.9.3.22)", () => {
  const frames: Frame[] = [];
  const input = new FrameInput((f) => void frames.push(f), LIMITS, () => {}, (e) => {
    throw e;
  });
  input.push(bytes(HEADER));
  input.push(new Uint8Array([0x3c, 0xff, 0xfe]));
  assert.deepEqual(frames.map((f) => f.kind === "error" ? f.condition : f.kind), [
    "open",
    "unsupported-encoding",
  ]);
  input.stop();
});

Deno.test("an idle input is compacted by the sweep and keeps parsing afterwards", () => {
  const frames: Frame[] = [];
  const input = new FrameInput((f) => void frames.push(f), LIMITS, () => {}, (e) => {
    throw e;
  });
  input.push(bytes(HEADER + "<presence/>"));
  assert.equal(input.sweep(), false, "data arrived during this period");
  assert.equal(input.sweep(), true, "idle for a whole period: compacted");
  input.push(bytes("<message id='after'/>"));
  const last = frames.at(-1)!;
  assert.equal(last.kind === "stanza" && last.element.attrs.id, "after");
  input.stop();
});

Deno.test("a handler's throw or rejection goes to onError and parsing goes on", async () => {
  const errors: unknown[] = [];
  const seen: string[] = [];
  const input = new FrameInput(
    (f) => {
      if (f.kind !== "stanza") return;
      const id = f.element.attrs.id!;
      seen.push(id);
      if (id === "sync") throw new Error("sync");
      if (id === "async") return Promise.reject(new Error("async"));
    },
    LIMITS,
    () => {},
    (e) => void errors.push((e as Error).message),
  );
  input.push(bytes(HEADER + "<message id='sync'/><message id='async'/><message id='after'/>"));
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(errors, ["sync", "async"]);
  assert.deepEqual(seen, ["sync", "async", "after"]);
  input.stop();
  input.push(bytes("<message id='stopped'/>"));
  assert.equal(seen.length, 3, "nothing is handled after stop()");
});
