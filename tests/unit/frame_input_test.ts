import assert from "node:assert/strict";
import { FrameInput } from "../../src/stream/frame_input.ts";
import { RELAY_DEPTH_ALLOWANCE } from "../../src/xml/parser.ts";
import type { Frame } from "../../src/xml/parser.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
/** Waits (bounded) for work FrameInput left for later turns. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
}

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
  // 40 KB waiting behind the handler: over the backlog limit (32 KB or frames).
  const body = "x".repeat(1000);
  for (let i = 0; i < 40; i++) {
    input.push(bytes(`<message id='${i}'><body>${body}</body></message>`));
  }
  await until(() => seen.length >= 2);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(seen, ["open", "0"], "the rest waits for the slow handler");
  assert.deepEqual(backlog, [true]);
  release();
  await gate;
  await until(() => seen.length === 41);
  assert.equal(seen.length, 41);
  assert.deepEqual(seen.slice(2, 5), ["1", "2", "3"]);
  assert.deepEqual(backlog, [true, false]);
  input.stop();
});

Deno.test("invalid UTF-8 becomes an unsupported-encoding error frame (RFC 6120 §4.9.3.22)", async () => {
  const frames: Frame[] = [];
  const input = new FrameInput((f) => void frames.push(f), LIMITS, () => {}, (e) => {
    throw e;
  });
  input.push(bytes(HEADER));
  input.push(new Uint8Array([0x3c, 0xff, 0xfe]));
  await until(() => frames.length >= 2);
  assert.deepEqual(frames.map((f) => f.kind === "error" ? f.condition : f.kind), [
    "open",
    "unsupported-encoding",
  ]);
  input.stop();
});

Deno.test("an idle input is compacted by the sweep and keeps parsing afterwards", async () => {
  const frames: Frame[] = [];
  const input = new FrameInput((f) => void frames.push(f), LIMITS, () => {}, (e) => {
    throw e;
  });
  input.push(bytes(HEADER + "<presence/>"));
  await until(() => frames.length === 2);
  assert.equal(input.sweep(), false, "data arrived during this period");
  assert.equal(input.sweep(), true, "idle for a whole period: compacted");
  input.push(bytes("<message id='after'/>"));
  await until(() => frames.length === 3);
  const last = frames.at(-1)!;
  assert.equal(last.kind === "stanza" && last.element.attrs.id, "after");
  input.stop();
});

/** A handler recording stanza ids; it throws on `sync` and rejects on `async`. */
function failingOn(seen: string[]): (f: Frame) => Promise<void> | void {
  return (f) => {
    if (f.kind !== "stanza") return;
    const id = f.element.attrs.id!;
    seen.push(id);
    if (id === "sync") throw new Error("sync");
    if (id === "async") return Promise.reject(new Error("async"));
  };
}

Deno.test("a handler's throw or rejection goes to onError and parsing goes on", async () => {
  const errors: unknown[] = [];
  const seen: string[] = [];
  const input = new FrameInput(
    failingOn(seen),
    LIMITS,
    () => {},
    (e) => void errors.push((e as Error).message),
  );
  input.push(bytes(HEADER + "<message id='sync'/><message id='async'/><message id='after'/>"));
  await until(() => seen.length === 3 && errors.length === 2);
  assert.deepEqual(errors, ["sync", "async"]);
  assert.deepEqual(seen, ["sync", "async", "after"]);
  input.stop();
  input.push(bytes("<message id='stopped'/>"));
  assert.equal(seen.length, 3, "nothing is handled after stop()");
});

Deno.test("onError gets the failed frame; if onError throws too, the queue still drains", async () => {
  const failed: string[] = [];
  const seen: string[] = [];
  const input = new FrameInput(
    failingOn(seen),
    LIMITS,
    () => {},
    (e, frame) => {
      failed.push(`${(e as Error).message}:${frame.kind === "stanza" && frame.element.attrs.id}`);
      // An owner whose error handling is itself broken.
      throw new Error("onError failed");
    },
  );
  input.push(bytes(HEADER + "<message id='sync'/><message id='async'/><message id='after'/>"));
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(failed, ["sync:sync", "async:async"]);
  assert.deepEqual(seen, ["sync", "async", "after"], "the frame after the failure was handled");
  input.stop();
});

Deno.test("a chunk that takes long is handled over several turns, reading paused meanwhile", async () => {
  const ids: number[] = [];
  const backlog: boolean[] = [];
  const spin = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end) { /* a slow synchronous handler */ }
  };
  const input = new FrameInput(
    (f) => {
      if (f.kind !== "stanza") return;
      ids.push(Number(f.element.attrs.id));
      spin(0.2);
    },
    LIMITS,
    (full) => backlog.push(full),
    (e) => {
      throw e;
    },
  );
  input.push(bytes(HEADER));
  // 2 000 stanzas × 0.2 ms: 400 ms of work arriving in one chunk.
  let chunk = "";
  for (let i = 0; i < 2000; i++) chunk += `<message id='${i}'/>`;
  const t0 = performance.now();
  input.push(bytes(chunk));
  const held = performance.now() - t0;
  assert.ok(held < 100, `push() held the event loop ${held.toFixed(1)} ms`);
  assert.ok(ids.length < 2000, "the rest waits for later turns");
  assert.deepEqual(backlog, [true]);
  // Text arriving meanwhile queues behind, in order.
  input.push(bytes("<message id='2000'/>"));
  await until(() => ids.length === 2001);
  assert.deepEqual(ids, Array.from({ length: 2001 }, (_, i) => i));
  assert.deepEqual(backlog, [true, false]);
  input.stop();
});

Deno.test("invalid UTF-8 reports its error after the frames of the text before it", async () => {
  const kinds: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const input = new FrameInput(
    (f) => {
      kinds.push(f.kind === "error" ? f.condition : f.kind);
      if (f.kind === "stanza" && f.element.attrs.id === "slow") return gate;
    },
    LIMITS,
    () => {},
    (e) => {
      throw e;
    },
  );
  input.push(bytes(HEADER + "<message id='slow'/>"));
  input.push(bytes("<message id='next'/>"));
  input.push(new Uint8Array([0xff]));
  release();
  await gate;
  await until(() => kinds.length === 4);
  assert.deepEqual(kinds, ["open", "stanza", "stanza", "unsupported-encoding"]);
  input.stop();
});

Deno.test("resetForTls drops text waiting to be parsed", () => {
  const names: string[] = [];
  const input = new FrameInput(
    (f) => {
      names.push(f.kind === "stanza" ? f.element.name : f.kind);
      if (f.kind === "stanza" && f.element.name === "starttls") input.resetForTls();
    },
    LIMITS,
    () => {},
    (e) => {
      throw e;
    },
  );
  // Far longer than one slice: the injected stanzas must not survive.
  input.push(bytes(HEADER + "<starttls/>" + "<iq/>".repeat(5000)));
  input.push(bytes(HEADER + "<presence/>"));
  assert.deepEqual(names, ["open", "starttls", "open", "presence"]);
  input.stop();
});

Deno.test("s2s and component streams allow 8 more levels than clients, for wrapped stanzas", async () => {
  const kinds = async (
    limits: { maxStanzaSize: number; maxStanzaDepth: number },
    depth: number,
  ) => {
    const frames: Frame[] = [];
    const input = new FrameInput((f) => void frames.push(f), limits, () => {}, (e) => {
      throw e;
    });
    input.push(bytes(HEADER + "<a>".repeat(depth) + "</a>".repeat(depth)));
    await until(() => frames.length === 2);
    input.stop();
    return frames.map((f) => f.kind === "error" ? f.condition : f.kind);
  };
  const relay = {
    maxStanzaSize: LIMITS.maxStanzaSize,
    maxStanzaDepth: LIMITS.maxStanzaDepth + RELAY_DEPTH_ALLOWANCE,
  };
  assert.equal(relay.maxStanzaDepth, LIMITS.maxStanzaDepth + RELAY_DEPTH_ALLOWANCE);
  assert.deepEqual(await kinds(LIMITS, 33), ["open", "policy-violation"]);
  assert.deepEqual(await kinds(relay, 40), ["open", "stanza"]);
  assert.deepEqual(await kinds(relay, 41), ["open", "policy-violation"]);
});

Deno.test("text waiting behind a handler that never settles is bounded: policy-violation, then nothing", async () => {
  const frames: Frame[] = [];
  const input = new FrameInput(
    (f) => {
      frames.push(f);
      // The first stanza's handler never settles (a stuck storage call, say).
      if (f.kind === "stanza") return new Promise<void>(() => {});
    },
    LIMITS,
    () => {}, // the owner's pause has not taken effect: input keeps arriving
    (e) => {
      throw e;
    },
  );
  input.push(bytes(HEADER));
  // 64 KB of small stanzas, each well under maxStanzaSize.
  const chunk = bytes(`<message><body>${"x".repeat(1000)}</body></message>`.repeat(64));
  // 64 MiB offered; the input must give up long before.
  let pushed = 0;
  for (let i = 0; i < 1024 && frames.every((f) => f.kind !== "error"); i++) {
    input.push(chunk);
    pushed += chunk.length;
  }
  await until(() => frames.some((f) => f.kind === "error"));
  const last = frames.at(-1)!;
  assert.equal(last.kind === "error" && last.condition, "policy-violation");
  assert.equal(frames.filter((f) => f.kind === "stanza").length, 1, "only the first stanza ran");
  assert.ok(
    pushed <= 4 * LIMITS.maxStanzaSize + 256 * 1024 + 2 * chunk.length,
    `took ${pushed} bytes`,
  );
  const count = frames.length;
  input.push(chunk);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(frames.length, count, "nothing is handled after the error");
});

Deno.test("handlers whose promises settle at once still yield to other work after the turn's budget", async () => {
  // Each stanza costs ~0.5 ms and answers with an already-settled promise (storage
  // that answered synchronously): the chain of settlements must not run as one
  // microtask run past the budget, starving timers and other sockets.
  let handled = 0;
  const input = new FrameInput(
    (f: Frame) => {
      if (f.kind !== "stanza") return;
      const end = performance.now() + 0.5;
      while (performance.now() < end) { /* the handler's work */ }
      handled++;
      return Promise.resolve();
    },
    LIMITS,
    () => {},
    (e) => {
      throw e;
    },
  );
  input.push(bytes(HEADER));
  let text = "";
  for (let i = 0; i < 400; i++) text += `<iq type='set' id='${i}'/>`;
  input.push(bytes(text));
  // A timer due at once runs only when the input yields.
  const atTimer = await new Promise<number>((r) => setTimeout(() => r(handled), 0));
  assert.ok(atTimer < 100, `${atTimer} of 400 stanzas handled before a timer could run`);
  await until(() => handled === 400);
  assert.equal(handled, 400);
  input.stop();
});

Deno.test("nothing after the stream's close counts, however much arrives", () => {
  const seen: string[] = [];
  const input = new FrameInput(
    (f: Frame) => void seen.push(f.kind === "error" ? "error: " + f.text : f.kind),
    LIMITS,
    () => {},
    (e) => {
      throw e;
    },
  );
  input.push(bytes(HEADER + "</stream:stream>"));
  // More than the bound on waiting input (4 stanzas' worth + 256 KiB): dropped,
  // not parsed and not answered with a second, policy-violation, frame.
  input.push(bytes("x".repeat(4 * LIMITS.maxStanzaSize + 300 * 1024)));
  assert.deepEqual(seen, ["open", "close"]);
});
