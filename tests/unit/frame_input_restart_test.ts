/**
 * A stream restart (after SASL success) decided while the handler of the
 * element that caused it was still pending: what the peer sent after that
 * element was parsed by the old stream's parser meanwhile, and belongs to
 * the new stream.
 */
import assert from "node:assert/strict";
import { FrameInput } from "../../src/stream/frame_input.ts";
import type { Frame } from "../../src/xml/parser.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
}

const LIMITS = { maxStanzaSize: 10_000, maxStanzaDepth: 32 };
const HEADER = "<stream:stream xmlns='jabber:client' " +
  "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>";

function show(f: Frame): string {
  return f.kind === "stanza"
    ? f.element.name
    : f.kind === "error"
    ? "error:" + f.condition
    : f.kind === "open"
    ? "open:" + f.attrs.id
    : f.kind;
}

/** The handler of `<auth/>` restarts the stream once `wait` resolves (or at once). */
function input(seen: string[], wait?: () => Promise<void>): FrameInput {
  const fi: FrameInput = new FrameInput(
    (f: Frame) => {
      seen.push(show(f));
      if (f.kind !== "stanza" || f.element.name !== "auth") return;
      if (!wait) return fi.reset();
      return wait().then(() => fi.reset());
    },
    LIMITS,
    () => {},
    (e) => {
      throw e;
    },
  );
  return fi;
}

const PIPELINED = "<auth/>" + "<?xml version='1.0'?>" +
  HEADER.replace("version=", "id='2' version=") +
  "<iq type='set' id='bind'/>";

for (
  const [name, wait] of [
    ["at once", undefined],
    ["after a pending handler", () => new Promise<void>((r) => setTimeout(r, 10))],
    ["after a handler settled in a microtask", () => Promise.resolve()],
  ] as const
) {
  Deno.test(`what follows the element that restarts the stream opens the new one (${name})`, async () => {
    for (
      const chunks of [
        [HEADER + PIPELINED],
        [HEADER, PIPELINED],
        [HEADER + "<auth/>", PIPELINED.slice(7)],
        // The old stream's parser fails on the XML declaration before the rest arrives.
        [HEADER + PIPELINED.slice(0, 28), PIPELINED.slice(28)],
      ]
    ) {
      const seen: string[] = [];
      const fi = input(seen, wait);
      for (const c of chunks) fi.push(bytes(c));
      await until(() => seen.length >= 4);
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(seen, ["open:undefined", "auth", "open:2", "iq"], chunks.join(" | "));
      fi.stop();
    }
  });
}

Deno.test("after a restart, frames the old stream had parsed past the restarting element are not handled", async () => {
  const seen: string[] = [];
  const fi = input(seen, () => new Promise<void>((r) => setTimeout(r, 10)));
  // Two elements behind <auth/>: parsed (and queued) by the old stream's parser.
  fi.push(
    bytes(HEADER + "<auth/><message/><presence/>" + HEADER.replace("version=", "id='2' version=")),
  );
  await until(() => seen.length >= 3);
  await new Promise((r) => setTimeout(r, 20));
  // The new stream's parser sees <message/> first: it becomes that stream's root.
  assert.deepEqual(seen.slice(0, 3), ["open:undefined", "auth", "open:undefined"]);
  fi.stop();
});
