import assert from "node:assert/strict";
import { type Frame, type ParserOptions, XmlFrameParser } from "../../src/xml/parser.ts";
import { serialize } from "../../src/xml/element.ts";

const HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " +
  "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>";

const DOC = HEADER +
  "\n<message to='a@b' type='chat' id='1'><body>héllo 😀 中文 &amp; &lt;x&gt; &#x1F600; &apos;</body>" +
  "<active xmlns='http://jabber.org/protocol/chatstates'/></message>\r\n " +
  "<presence><show>away</show><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' ver='v=='/></presence>" +
  "<iq type='get' id='2'><query xmlns='jabber:iq:roster'/></iq>" +
  "<x:foo xmlns:x='urn:x' xmlns:y='urn:y' y:attr='1' xml:lang='fr'><x:bar/><baz/>a<![CDATA[<c>]]>b</x:foo>" +
  "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>" +
  "\n</stream:stream>";

/** Frames in a comparable form: stanzas serialized. */
function show(frames: Frame[]): unknown[] {
  return frames.map((f) =>
    f.kind === "stanza" ? { kind: "stanza", xml: serialize(f.element), size: f.size } : f
  );
}

function parse(chunks: string[], max?: number, options: Partial<ParserOptions> = {}): Frame[] {
  const frames: Frame[] = [];
  const p = new XmlFrameParser(
    (f) => frames.push(f),
    max ? { ...options, maxStanzaSize: max } : options,
  );
  for (const c of chunks) p.write(c);
  return frames;
}

function lastError(frames: Frame[]): string | undefined {
  const f = frames[frames.length - 1];
  return f?.kind === "error" ? f.condition : undefined;
}

Deno.test("parses a stream into header, stanzas and close", () => {
  const frames = parse([DOC]);
  assert.deepEqual(frames[0], {
    kind: "open",
    name: "stream:stream",
    ns: "http://etherx.jabber.org/streams",
    attrs: {
      xmlns: "jabber:client",
      "xmlns:stream": "http://etherx.jabber.org/streams",
      to: "example.com",
      version: "1.0",
      "xml:lang": "en",
    },
  });
  assert.deepEqual(show(frames).slice(1).map((f) => (f as { xml?: string }).xml ?? f), [
    "<message to='a@b' type='chat' id='1'><body>héllo 😀 中文 &amp; &lt;x&gt; 😀 '</body>" +
    "<active xmlns='http://jabber.org/protocol/chatstates'/></message>",
    "<presence><show>away</show><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' ver='v=='/>" +
    "</presence>",
    "<iq type='get' id='2'><query xmlns='jabber:iq:roster'/></iq>",
    "<foo xmlns='urn:x' y:attr='1' xmlns:y='urn:y' xml:lang='fr'><bar/><baz xmlns='jabber:client'/>" +
    "a&lt;c&gt;b</foo>",
    "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>",
    { kind: "close" },
  ]);
});

Deno.test("stanza size is its source length", () => {
  const stanza = "<message to='a@b'><body>x &amp; y</body></message>";
  const frames = parse([HEADER + "  " + stanza + " <a/>"]);
  assert.equal(frames[1].kind === "stanza" && frames[1].size, stanza.length);
  assert.equal(frames[2].kind === "stanza" && frames[2].size, 4);
});

Deno.test("every byte split point gives the same frames", () => {
  const bytes = new TextEncoder().encode(DOC);
  const expected = show(parse([DOC]));
  for (let i = 0; i <= bytes.length; i++) {
    const dec = new TextDecoder("utf-8", { fatal: true });
    const a = dec.decode(bytes.subarray(0, i), { stream: true });
    const b = dec.decode(bytes.subarray(i), { stream: true }) + dec.decode();
    assert.deepEqual(show(parse([a, b])), expected, `split at byte ${i}`);
  }
});

Deno.test("1-char and random chunkings give the same frames", () => {
  const expected = show(parse([DOC]));
  // One UTF-16 unit at a time also splits the surrogate pairs of 😀.
  assert.deepEqual(show(parse([...DOC.split("")])), expected);
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let run = 0; run < 50; run++) {
    const chunks: string[] = [];
    for (let i = 0; i < DOC.length;) {
      const n = 1 + Math.floor(rand() * 40);
      chunks.push(DOC.slice(i, i + n));
      i += n;
    }
    assert.deepEqual(show(parse(chunks)), expected);
  }
});

Deno.test("forbidden constructs give their stream error", () => {
  const cases: [string, string][] = [
    ["<?xml version='1.0'?><!DOCTYPE foo><stream:stream/>", "restricted-xml"],
    ["<!DOCTYPE s [<!ENTITY x 'y'>]><stream:stream/>", "restricted-xml"],
    [HEADER + "<!DOCTYPE foo>", "restricted-xml"],
    ["<!-- hi --><stream:stream/>", "restricted-xml"],
    [HEADER + "<!-- hi -->", "restricted-xml"],
    [HEADER + "<message><!-- hi --></message>", "restricted-xml"],
    ["<?foo bar?><stream:stream/>", "restricted-xml"],
    [HEADER + "<message><?foo bar?></message>", "restricted-xml"],
    [HEADER + "<message>&foo;</message>", "restricted-xml"],
    [HEADER + "<message a='&foo;'/>", "restricted-xml"],
    [HEADER + "<message><!ENTITY x 'y'></message>", "not-well-formed"],
    [HEADER + "<a:message/>", "bad-namespace-prefix"],
    [HEADER + "<message a:b='c'/>", "bad-namespace-prefix"],
    ["<stream:stream xmlns='jabber:client'>", "bad-namespace-prefix"],
    [HEADER + "<message></iq>", "not-well-formed"],
    [HEADER + "<message>\u0001</message>", "not-well-formed"],
    [HEADER + "<message a=b/>", "not-well-formed"],
    [HEADER + "hello", "not-well-formed"],
    [HEADER + "<a/> x<b/>", "not-well-formed"],
    [HEADER + "<a/> &amp;", "not-well-formed"],
    ["junk<stream:stream/>", "not-well-formed"],
    ["<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream/>", "unsupported-encoding"],
    [
      "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' x='" + "a".repeat(9000) +
      "'>",
      "policy-violation",
    ],
  ];
  for (const [input, condition] of cases) {
    assert.equal(lastError(parse([input])), condition, input.slice(HEADER.length - 10, 200));
    // The same input byte by byte: detection does not depend on chunking.
    assert.equal(lastError(parse(input.split(""))), condition, "1-char: " + input.slice(0, 120));
  }
});

Deno.test("after an error nothing more is parsed", () => {
  const frames = parse([HEADER + "<a>&foo;</a><b/>", "<c/>"]);
  assert.deepEqual(frames.map((f) => f.kind), ["open", "error"]);
});

Deno.test("an oversized stanza fails while it streams in", () => {
  const frames: Frame[] = [];
  const p = new XmlFrameParser((f) => frames.push(f));
  p.write(HEADER);
  const body = "x".repeat(300 * 1024);
  const stanza = "<message><body>" + body + "</body></message>";
  let fed = 0;
  for (; fed < stanza.length && frames.length < 2; fed += 1024) {
    p.write(stanza.slice(fed, fed + 1024));
  }
  assert.equal(lastError(frames), "policy-violation");
  assert.ok(fed < stanza.length, "error before the stanza ended");
  assert.ok(fed <= 262144 + 2048);
});

Deno.test("an oversized stanza in one chunk fails; one under the limit passes", () => {
  const make = (n: number) => "<message><body>" + "x".repeat(n) + "</body></message>";
  const overhead = make(0).length;
  assert.equal(lastError(parse([HEADER + make(1000 - overhead + 1)], 1000)), "policy-violation");
  const ok = parse([HEADER + make(1000 - overhead)], 1000);
  assert.equal(ok[1].kind === "stanza" && ok[1].size, 1000);
  // Also for a huge chunk (fed to saxes in slices).
  assert.equal(lastError(parse([HEADER + make(1_000_000)])), "policy-violation");
});

Deno.test("endless tag names and attribute values hit the limit", () => {
  const frames: Frame[] = [];
  const p = new XmlFrameParser((f) => frames.push(f), { maxStanzaSize: 10000 });
  p.write(HEADER + "<a/>");
  p.write("<message to='");
  for (let i = 0; i < 20 && frames.length < 3; i++) p.write("y".repeat(1024));
  assert.equal(lastError(frames), "policy-violation");
});

Deno.test("whitespace keepalives are ignored, however many", () => {
  const frames: Frame[] = [];
  const p = new XmlFrameParser((f) => frames.push(f), { maxStanzaSize: 1000 });
  p.write(HEADER);
  for (let i = 0; i < 3000; i++) p.write(i % 100 === 0 ? "<a/> \n" : " \t\r\n");
  p.write("<b/>");
  assert.equal(frames.length, 32);
  assert.ok(frames.every((f) => f.kind !== "error"));
});

Deno.test("a stream close ends parsing", () => {
  const frames = parse([HEADER + "<a/></stream:stream><b/>", "junk"]);
  assert.deepEqual(frames.map((f) => f.kind), ["open", "stanza", "close"]);
});

Deno.test("reset() restarts the stream, between writes or from a frame callback", () => {
  const frames: Frame[] = [];
  const p = new XmlFrameParser((f) => {
    frames.push(f);
    if (f.kind === "stanza" && f.element.name === "auth") p.reset();
  });
  // The new header arrives in the same chunk as the stanza that triggers the reset.
  p.write(HEADER + "<auth/>" + HEADER + "<iq/>");
  p.reset();
  p.write(HEADER + "<presence/>");
  assert.deepEqual(
    frames.map((f) => f.kind === "stanza" ? f.element.name : f.kind),
    ["open", "auth", "open", "iq", "open", "presence"],
  );
  // A reset requested by the handler of an error frame takes effect too.
  const events: string[] = [];
  const r = new XmlFrameParser((f) => {
    events.push(f.kind);
    if (f.kind === "error") r.reset();
  });
  r.write(HEADER + "<a>&foo;</a>");
  r.write(HEADER + "<b/>");
  assert.deepEqual(events, ["open", "error", "open", "stanza"]);
  // A parser stopped by an error works again after reset.
  const q = new XmlFrameParser((f) => frames.push(f));
  q.write(HEADER + "<!-- x -->");
  q.reset();
  frames.length = 0;
  q.write(HEADER + "<a/>");
  assert.deepEqual(frames.map((f) => f.kind), ["open", "stanza"]);
});

Deno.test("namespaces are normalised", () => {
  const frames = parse([
    HEADER +
    "<message xmlns='jabber:client'><s:error xmlns:s='http://etherx.jabber.org/streams'/></message>" +
    "<p:iq xmlns:p='jabber:client' xmlns:q='urn:q'><q:query><item/></q:query></p:iq>" +
    "<x xmlns=''/>" +
    "<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
  ]);
  const xml = show(frames).slice(1).map((f) => (f as { xml: string }).xml);
  assert.deepEqual(xml, [
    "<message><stream:error/></message>",
    // item is unprefixed, so in the default namespace declared by the stream.
    "<iq><query xmlns='urn:q'><item xmlns='jabber:client'/></query></iq>",
    "<x xmlns=''/>",
    "<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
  ]);
});

Deno.test("a restart after `<starttls/>\\n` accepts the next header with its XML declaration", () => {
  // go-sendxmpp ends every element with a newline; the reset happens in the
  // frame callback, so that newline reaches the fresh parser first.
  const header = "<?xml version='1.0'?>\n<stream:stream to='localhost' xmlns='jabber:client' " +
    "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>\n";
  const kinds: string[] = [];
  const parser = new XmlFrameParser((f) => {
    kinds.push(f.kind);
    if (f.kind === "stanza") parser.reset();
  });
  parser.write(header);
  parser.write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\n");
  parser.write(header);
  assert.deepEqual(kinds, ["open", "stanza", "open"]);
});

Deno.test("compact() between stanzas releases saxes and parsing resumes unchanged", () => {
  const frames: Frame[] = [];
  const p = new XmlFrameParser((f) => frames.push(f), { maxStanzaSize: 2000 });
  p.write(
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " +
      "xmlns:stream='http://etherx.jabber.org/streams' xmlns:x='urn:x' to='localhost' version='1.0'>",
  );
  p.write("<message to='a@b'><body>one</body></message>\n ");
  assert.equal(p.compact(), true);
  assert.equal(p.compact(), false, "already compact");
  // Namespaces, the stream prefix and size accounting survive the rebuild.
  p.write("<iq type='get' id='1'><query xmlns='urn:q'/></iq><stream:features/><x:y/>");
  assert.equal(p.compact(), true);
  p.write("<message><body>" + "z".repeat(2100) + "</body></message>");
  const kinds = frames.map((f) =>
    f.kind === "stanza" ? serialize(f.element) : f.kind === "error" ? f.condition : f.kind
  );
  assert.deepEqual(kinds, [
    "open",
    "<message to='a@b'><body>one</body></message>",
    "<iq type='get' id='1'><query xmlns='urn:q'/></iq>",
    "<stream:features/>",
    "<y xmlns='urn:x'/>",
    "policy-violation",
  ]);
});

Deno.test("compact() refuses mid-stanza and before the stream opens", () => {
  const frames: Frame[] = [];
  const p = new XmlFrameParser((f) => frames.push(f));
  assert.equal(p.compact(), false);
  p.write(
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" +
      "<message><bo",
  );
  assert.equal(p.compact(), false);
  p.write("dy>hi</body></message>");
  assert.equal(p.compact(), true);
  p.write("</stream:stream>");
  assert.deepEqual(frames.map((f) => f.kind), ["open", "stanza", "close"]);
});

Deno.test("reset(true) from a frame callback drops the rest of the chunk, however long", () => {
  const frames: Frame[] = [];
  const p = new XmlFrameParser((f) => {
    frames.push(f);
    if (f.kind === "stanza" && f.element.name === "starttls") p.reset(true);
  });
  // Long enough that the parser feeds it in several slices: none may survive.
  const injected = HEADER + "<iq/>".repeat(20_000);
  p.write(HEADER + "<starttls/>" + injected);
  p.write(HEADER + "<presence/>");
  assert.deepEqual(
    frames.map((f) => f.kind === "stanza" ? f.element.name : f.kind),
    ["open", "starttls", "open", "presence"],
  );
});

Deno.test("nesting past maxStanzaDepth is a policy-violation, found before the deep tags are parsed", () => {
  const nest = (n: number) => "<a>".repeat(n) + "</a>".repeat(n);
  // Depth counts from the stanza: the stanza element is depth 1.
  const ok = parse([HEADER + nest(32)]);
  assert.equal(ok[1].kind, "stanza");
  assert.equal(lastError(parse([HEADER + nest(33)])), "policy-violation");
  assert.equal(
    lastError(parse([HEADER + nest(5)], undefined, { maxStanzaDepth: 4 })),
    "policy-violation",
  );
  // The attack, 80 000 opening tags (240 KB, under the size limit):
  // the error comes at tag 33, so the frame arrives while the first slice is parsed.
  const frames: Frame[] = [];
  const p = new XmlFrameParser((f) => frames.push(f));
  p.write(HEADER);
  const t0 = performance.now();
  p.write("<a>".repeat(80_000));
  assert.equal(lastError(frames), "policy-violation");
  assert.ok(performance.now() - t0 < 500, "no quadratic namespace walk");
  // Reset for a new stream: the depth count starts again.
  p.reset();
  frames.length = 0;
  p.write(HEADER + nest(32));
  assert.deepEqual(frames.map((f) => f.kind), ["open", "stanza"]);
  // Byte by byte, the same.
  assert.equal(lastError(parse((HEADER + nest(33)).split(""))), "policy-violation");
});

Deno.test("more than maxAttributes attributes on one element is a policy-violation", () => {
  const attrs = (n: number, name = (i: number) => "a" + i) =>
    Array.from({ length: n }, (_, i) => ` ${name(i)}='v'`).join("");
  assert.equal(parse([HEADER + `<message${attrs(64)}/>`])[1].kind, "stanza");
  assert.equal(lastError(parse([HEADER + `<message${attrs(65)}/>`])), "policy-violation");
  // Namespace declarations count: they cost saxes the same.
  const decls = attrs(65, (i) => "xmlns:p" + i);
  assert.equal(lastError(parse([HEADER + `<message><x${decls}/></message>`])), "policy-violation");
  // Detected while the attributes stream in, not at the end of the tag.
  const frames: Frame[] = [];
  const p = new XmlFrameParser((f) => frames.push(f));
  p.write(HEADER + "<message");
  p.write(attrs(20_000));
  assert.equal(lastError(frames), "policy-violation");
  assert.equal(
    lastError(parse([HEADER + `<m${attrs(9)}/>`], undefined, { maxAttributes: 8 })),
    "policy-violation",
  );
});

Deno.test("an end tag that does not match is not-well-formed, at stream level too", () => {
  for (const end of ["</foo>", "</stream:foo>", "</stream>", "</x:stream>", "</stream:stream >"]) {
    const frames = parse([HEADER + "<a/>" + end]);
    const kinds = frames.map((f) => f.kind === "error" ? f.condition : f.kind);
    if (end === "</stream:stream >") assert.deepEqual(kinds, ["open", "stanza", "close"], end);
    else assert.deepEqual(kinds, ["open", "stanza", "not-well-formed"], end);
    // Also byte by byte.
    assert.equal(
      lastError(parse((HEADER + end).split(""))),
      end.includes(" >") ? undefined : "not-well-formed",
    );
  }
  // Inside a stanza: no stanza frame for `<message></iq>`, only the error.
  const frames = parse([HEADER + "<message><body>x</body></iq>"]);
  assert.deepEqual(frames.map((f) => f.kind), ["open", "error"]);
  // A stream opened without a prefix closes with the same name.
  const plain = parse([
    "<stream xmlns='http://etherx.jabber.org/streams'><a xmlns='jabber:client'/></stream>",
  ]);
  assert.deepEqual(plain.map((f) => f.kind), ["open", "stanza", "close"]);
});
