/**
 * The most expensive inputs found for the stream parser under its default
 * limits (depth 32, 64 attributes, 256 KiB stanzas), one 64 KB chunk per
 * iteration, as a hostile connection would deliver them. FrameInput then
 * cuts each chunk's work into 2 ms turns (see src/stream/frame_input.ts);
 * these numbers are what a chunk costs in total.
 *
 * `deno bench -A bench/parser_limits_bench.ts`
 */
import { XmlFrameParser } from "../src/xml/parser.ts";

const HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " +
  "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>";
const CHUNK = 65536;

function attrs(n: number, name: (i: number) => string): string {
  let s = "";
  for (let i = 0; i < n; i++) s += ` ${name(i)}=''`;
  return s;
}

/** Whole stanzas repeated to fill one chunk, so the stream can take it forever. */
function fill(stanza: string): string {
  return stanza.repeat(Math.max(1, Math.floor(CHUNK / stanza.length)));
}

const D = 31; // below the stanza element: 32 levels in all
const inputs: Record<string, string> = {
  "nesting 32 deep": fill("<m>" + "<a>".repeat(D) + "</a>".repeat(D) + "</m>"),
  "nesting 32 deep, prefixed names": fill(
    "<m xmlns:p='urn:p'>" + "<p:a>".repeat(D) + "</p:a>".repeat(D) + "</m>",
  ),
  "64 prefixed attributes per element, 32 deep": fill(
    "<m xmlns:p='urn:p'>" + `<a${attrs(63, (i) => "p:a" + i)}>`.repeat(D) + "</a>".repeat(D) +
      "</m>",
  ),
  "64 namespace declarations per element, 32 deep": fill(
    "<m>" + `<a${attrs(64, (i) => "xmlns:q" + i).replaceAll("''", "'u'")}>`.repeat(D) +
      "</a>".repeat(D) + "</m>",
  ),
  "64 attributes per stanza, tiny stanzas": fill(`<m${attrs(64, (i) => "a" + i)}/>`),
  "tiny stanzas": fill("<a/>"),
  "entities": fill("<m>" + "&amp;&#x41;&lt;".repeat(3000) + "</m>"),
  "one 60 KB attribute value": fill(`<m v='${"y".repeat(60_000)}'/>`),
  "one 60 KB element name": fill(`<${"n".repeat(60_000)}/>`),
};

for (const [name, chunk] of Object.entries(inputs)) {
  let failed = "";
  const p = new XmlFrameParser((f) => {
    if (f.kind === "error") failed = f.condition + ": " + f.text;
  });
  p.write(HEADER);
  Deno.bench(`${name} (${(chunk.length / 1024).toFixed(0)} KB chunk)`, { group: "worst" }, () => {
    p.write(chunk);
    if (failed) throw new Error(failed);
  });
}
