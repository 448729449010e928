/**
 * What the FrameInput measurements share: the web-streams chain FrameInput
 * replaced (TextDecoderStream → TransformStream around the same parser),
 * rebuilt here only so the two can be measured side by side, and the
 * input both are fed (a stream header, then 64 KB chunks of typical
 * client stanzas).
 */
import { type Frame, XmlFrameParser } from "../src/xml/parser.ts";
import { FrameInput, type StreamLimits } from "../src/stream/frame_input.ts";

export const LIMITS: StreamLimits = { maxStanzaSize: 262144, maxStanzaDepth: 32 };

export const HEADER = new TextEncoder().encode(
  "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " +
    "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>",
);

/** A mix of what clients send most: chat with chat states, presence, iq. */
const STANZAS = [
  "<message to='romeo@example.net' type='chat' id='ktx72v49'>" +
  "<body>Art thou not Romeo, &amp; a Montague?</body>" +
  "<active xmlns='http://jabber.org/protocol/chatstates'/></message>",
  "<presence><show>away</show><status>In the orchard</status><priority>5</priority>" +
  "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://example.org' " +
  "ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>",
  "<iq type='get' id='p1' to='example.net'><ping xmlns='urn:xmpp:ping'/></iq>",
  "<message to='nurse@example.net' type='chat' id='a8f3'>" +
  "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>",
];

/** One chat message with a chat state: a typical interactive read. */
export const SMALL_STANZA = new TextEncoder().encode(STANZAS[0]);

/** One 64 KB chunk of whole stanzas (the size of one socket read), and how many it holds. */
export function stanzaChunk(): { bytes: Uint8Array; stanzas: number } {
  let text = "";
  let stanzas = 0;
  for (let i = 0; text.length < 64 * 1024 - 512; i++) {
    text += STANZAS[i % STANZAS.length];
    stanzas++;
  }
  return { bytes: new TextEncoder().encode(text), stanzas };
}

/** The web-streams parser stage (as it was before FrameInput). */
export class XmlStreamParser extends TransformStream<string, Frame> {
  constructor() {
    let parser: XmlFrameParser;
    super({
      start(controller) {
        parser = new XmlFrameParser((f) => controller.enqueue(f), LIMITS);
      },
      transform(chunk) {
        parser.write(chunk);
      },
    });
  }
}

/** The chain: bytes written in, frames out to `onFrame`. */
export class WebStreamsInput {
  readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly done: Promise<void>;

  constructor(onFrame: (f: Frame) => void) {
    const decoder = new TextDecoderStream("utf-8", { fatal: true });
    this.writer = decoder.writable.getWriter();
    this.done = decoder.readable.pipeThrough(new XmlStreamParser())
      .pipeTo(new WritableStream({ write: onFrame })).catch(() => {});
  }

  push(chunk: Uint8Array): Promise<void> {
    return this.writer.write(chunk).catch(() => {});
  }

  stop(): void {
    this.writer.abort().catch(() => {});
  }
}

export function frameInput(onFrame: (f: Frame) => void): FrameInput {
  return new FrameInput(onFrame, LIMITS, () => {}, (e) => {
    throw e;
  });
}
