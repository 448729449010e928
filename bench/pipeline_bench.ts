/**
 * The c2s input path per chunk, three ways: FrameInput (what
 * `src/stream/c2s.ts` uses: `data` events → streaming TextDecoder →
 * XmlFrameParser, synchronous), the web-streams pipeline fed from `data`
 * events (TextDecoderStream → XmlStreamParser), and `Duplex.toWeb`.
 */
import { PassThrough } from "node:stream";
import { Duplex } from "node:stream";
import { type Frame, XmlFrameParser } from "../src/xml/parser.ts";
import { FrameInput } from "../src/stream/frame_input.ts";

/**
 * The web-streams parser stage the input path had before FrameInput
 * (removed from src/), rebuilt here only so the two can still be measured
 * side by side.
 */
class XmlStreamParser extends TransformStream<string, Frame> {
  constructor() {
    let parser: XmlFrameParser;
    super({
      start(controller) {
        parser = new XmlFrameParser((f) => controller.enqueue(f));
      },
      transform(chunk) {
        parser.write(chunk);
      },
    });
  }
}

const HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " +
  "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>";
const MESSAGE = "<message to='romeo@example.net/orchard' type='chat' id='ktx72v49'>" +
  "<body>Art thou not Romeo, &amp; a Montague?</body>" +
  "<active xmlns='http://jabber.org/protocol/chatstates'/></message>";
const CHUNKS = 200;
const chunk = new TextEncoder().encode(MESSAGE);
const header = new TextEncoder().encode(HEADER);

function sinkCounting(expected: number): { sink: WritableStream; done: Promise<void> } {
  let n = 0;
  let resolve!: () => void;
  const done = new Promise<void>((r) => resolve = r);
  const sink = new WritableStream({
    write(f) {
      if (f.kind === "stanza" && ++n === expected) resolve();
    },
  });
  return { sink, done };
}

Deno.bench("FrameInput: data events → decoder → parser (200 one-stanza chunks)", async () => {
  const socket = new PassThrough();
  let n = 0;
  let resolve!: () => void;
  const done = new Promise<void>((r) => resolve = r);
  const input = new FrameInput(
    (f) => {
      if (f.kind === "stanza" && ++n === CHUNKS) resolve();
    },
    { maxStanzaSize: 262144, maxStanzaDepth: 32 },
    () => {},
    (e) => {
      throw e;
    },
  );
  socket.on("data", (c: Uint8Array) => input.push(c));
  socket.write(header);
  for (let i = 0; i < CHUNKS; i++) socket.write(chunk);
  await done;
  input.stop();
});

Deno.bench("web streams fed by data events (200 one-stanza chunks)", async () => {
  const socket = new PassThrough();
  const decoder = new TextDecoderStream("utf-8", { fatal: true });
  const writer = decoder.writable.getWriter();
  const { sink, done } = sinkCounting(CHUNKS);
  decoder.readable.pipeThrough(new XmlStreamParser()).pipeTo(sink).catch(() => {});
  socket.on("data", (c: Uint8Array) => void writer.write(c).catch(() => {}));
  socket.write(header);
  for (let i = 0; i < CHUNKS; i++) socket.write(chunk);
  await done;
  writer.abort().catch(() => {});
});

Deno.bench("Duplex.toWeb (200 one-stanza chunks)", async () => {
  const socket = new PassThrough();
  const { readable } = Duplex.toWeb(socket);
  const { sink, done } = sinkCounting(CHUNKS);
  (readable as ReadableStream<Uint8Array>)
    .pipeThrough(new TextDecoderStream("utf-8", { fatal: true }))
    .pipeThrough(new XmlStreamParser())
    .pipeTo(sink)
    .catch(() => {});
  socket.write(header);
  for (let i = 0; i < CHUNKS; i++) socket.write(chunk);
  await done;
  socket.destroy();
});
