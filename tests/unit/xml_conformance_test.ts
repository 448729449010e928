/**
 * RFC 6120 §11 conformance of the stream parser, found in review: what a
 * stream may contain beyond well-formedness (XML 1.0 only, its character
 * set), checked with the parser alone.
 */
import assert from "node:assert/strict";
import { type Frame, XmlFrameParser } from "../../src/xml/parser.ts";

const HEADER = "<stream:stream xmlns='jabber:client' " +
  "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>";

function parse(input: string): Frame[] {
  const frames: Frame[] = [];
  const p = new XmlFrameParser((f) => frames.push(f));
  p.write(input);
  return frames;
}

function kinds(frames: Frame[]): string[] {
  return frames.map((f) => f.kind === "error" ? "error:" + f.condition : f.kind);
}

Deno.test("an XML declaration for another version than 1.0 is refused (RFC 6120 §11.4)", () => {
  // XML 1.1 admits control characters as references (&#1;): accepted, they
  // reached other peers raw, and XML 1.0 parsers there end their streams.
  for (const version of ["1.1", "1.9"]) {
    for (
      const chunks of [[`<?xml version='${version}'?>`, HEADER], [
        `<?xml version='${version}'?>` + HEADER,
      ]]
    ) {
      const frames: Frame[] = [];
      const p = new XmlFrameParser((f) => frames.push(f));
      for (const c of chunks) p.write(c);
      p.write("<message><body>&#1;</body></message>");
      assert.deepEqual(kinds(frames), ["error:unsupported-version"], version);
    }
  }
  // 1.0, and no declaration at all, are fine.
  assert.deepEqual(kinds(parse("<?xml version='1.0'?>" + HEADER + "<message/>")), [
    "open",
    "stanza",
  ]);
  assert.deepEqual(kinds(parse(HEADER + "<message/>")), ["open", "stanza"]);
});

Deno.test("a carriage return in text survives a round trip (XML 1.0 §2.11 turns a raw one into a newline)", () => {
  const first = parse(HEADER + "<message><body>a&#13;b&#xD;&#10;c</body></message>");
  const stanza = first[1];
  assert.equal(stanza.kind, "stanza");
  if (stanza.kind !== "stanza") return;
  assert.equal(stanza.element.getChildText("body"), "a\rb\r\nc");
  // What the next hop's parser reads back.
  const again = parse(HEADER + stanza.element.toString());
  const back = again[1];
  assert.equal(back.kind === "stanza" ? back.element.getChildText("body") : back.kind, "a\rb\r\nc");
});
