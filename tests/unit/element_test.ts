import assert from "node:assert/strict";
import { el, Element, escapeAttr, escapeText, openTag, serialize } from "../../src/xml/element.ts";
import { type Frame, XmlFrameParser } from "../../src/xml/parser.ts";

const HEADER = "<stream:stream xmlns='jabber:client' " +
  "xmlns:stream='http://etherx.jabber.org/streams'>";

function parseStanza(xml: string): Element {
  const frames: Frame[] = [];
  // Deep enough for the serializer tests, which go past the recursion budget.
  new XmlFrameParser((f) => frames.push(f), { maxStanzaDepth: 1000 }).write(HEADER + xml);
  const f = frames[1];
  assert.equal(f?.kind, "stanza", JSON.stringify(frames));
  return (f as { element: Element }).element;
}

Deno.test("el() builds elements, dropping undefined attributes and absent children", () => {
  const e = el(
    "message",
    { to: "a@b", type: "chat", id: undefined },
    el("body", {}, "hi"),
    undefined,
    null,
    false,
    "tail",
  );
  assert.equal(e.name, "message");
  assert.deepEqual(e.attrs, { to: "a@b", type: "chat" });
  assert.equal(e.children.length, 2);
  assert.equal(e.getChildText("body"), "hi");
  assert.equal(e.text(), "tail");
  assert.equal(serialize(e), "<message to='a@b' type='chat'><body>hi</body>tail</message>");
  assert.equal(el("br").toString(), "<br/>");
});

Deno.test("text and attribute values are escaped", () => {
  assert.equal(escapeText(`a & b < c > d " e ' f`), `a &amp; b &lt; c &gt; d " e ' f`);
  assert.equal(escapeAttr(`a & b < c > d " e ' f`), "a &amp; b &lt; c &gt; d &quot; e &apos; f");
  assert.equal(escapeText("plain"), "plain");
  const e = el("x", { v: `'"&<>` }, `<&>'"`);
  assert.equal(serialize(e), `<x v='&apos;&quot;&amp;&lt;&gt;'>&lt;&amp;&gt;'"</x>`);
  assert.equal(
    openTag("stream:stream", { to: "a'b", from: undefined }),
    "<stream:stream to='a&apos;b'>",
  );
});

Deno.test("child lookup by name and namespace", () => {
  const e = el(
    "iq",
    {},
    el(
      "query",
      { xmlns: "jabber:iq:roster" },
      el("item", { jid: "a@b" }),
      el("item", { jid: "c@d" }),
    ),
    el("query", { xmlns: "urn:other" }),
    el("plain"),
  );
  assert.equal(e.getChild("query", "urn:other")?.attrs.xmlns, "urn:other");
  assert.equal(e.getChild("query", "jabber:iq:roster")?.getChildren("item").length, 2);
  // Without xmlns, getChild matches only a child inheriting the parent's namespace.
  assert.equal(e.getChild("query"), undefined);
  assert.equal(e.getChild("plain")?.name, "plain");
  assert.equal(e.findChild("query")?.attrs.xmlns, "jabber:iq:roster");
  assert.equal(e.getChildren("query").length, 2);
  assert.equal(e.getChildren(undefined, "urn:other").length, 1);
  assert.equal(e.getChildByNs("urn:other")?.name, "query");
  assert.equal(e.firstElement()?.attrs.xmlns, "jabber:iq:roster");
});

Deno.test("parse then serialize round-trips", () => {
  const inputs = [
    "<message to='a@b' type='chat' id='1'><body>x &amp; y &lt; z &gt; w</body></message>",
    "<iq type='result' id='r'><query xmlns='jabber:iq:roster'><item jid='a@b' name='&apos;A&quot;'>" +
    "<group>Friends</group></item></query></iq>",
    "<presence xml:lang='de'><status>héllo 😀 中文</status></presence>",
  ];
  for (const xml of inputs) {
    const e = parseStanza(xml);
    assert.equal(serialize(e), xml);
    // A second round gives the same tree.
    assert.deepEqual(parseStanza(serialize(e)), e);
  }
});

Deno.test("clone is deep and independent", () => {
  const e = el("message", { to: "a@b" }, el("body", {}, "hi"));
  const c = e.clone();
  assert.deepEqual(c, e);
  c.setAttr("to", "c@d").setAttr("id", "1");
  (c.children[0] as Element).children.push("!");
  c.append(el("extra"));
  assert.equal(serialize(e), "<message to='a@b'><body>hi</body></message>");
  assert.equal(serialize(c), "<message to='c@d' id='1'><body>hi!</body><extra/></message>");
  c.setAttr("to", undefined);
  assert.equal(c.attr("to"), undefined);
  assert.equal(e.attr("to"), "a@b");
});

/** A chain `depth` levels below a message, each level with an attribute, text and a sibling. */
function deepTree(depth: number): Element {
  const root = el("message", { to: "a@b" });
  let cur = root;
  for (let i = 0; i < depth; i++) {
    const next = el("a", { n: String(i % 10) });
    cur.append(i % 2 ? "t&" : "", next, el("s"));
    cur = next;
  }
  return root;
}

/** What `serialize(deepTree(depth))` must give, built without walking a tree. */
function deepTreeXml(depth: number): string {
  if (depth === 0) return "<message to='a@b'/>";
  const open: string[] = [];
  const close: string[] = [];
  for (let i = 0; i < depth; i++) {
    const leaf = i === depth - 1;
    open.push((i % 2 ? "t&amp;" : "") + `<a n='${i % 10}'` + (leaf ? "/>" : ">"));
    close.push((leaf ? "" : "</a>") + "<s/>");
  }
  return "<message to='a@b'>" + open.join("") + close.reverse().join("") + "</message>";
}

/** Equal strings, without printing megabytes when they are not. */
function sameXml(actual: string, expected: string, what = ""): void {
  if (actual === expected) return;
  let i = 0;
  while (actual[i] === expected[i]) i++;
  assert.fail(
    `${what} differs at ${i}: ${actual.slice(i, i + 60)} vs ${expected.slice(i, i + 60)}`,
  );
}

Deno.test("serialize and clone handle a 100 000-deep tree (no recursion over the tree)", () => {
  const depth = 100_000;
  const tree = deepTree(depth);
  const xml = serialize(tree);
  sameXml(xml, deepTreeXml(depth));
  const copy = tree.clone();
  sameXml(serialize(copy), xml, "the copy");
  // The copy is independent all the way down.
  let orig: Element = tree;
  let dup: Element = copy;
  for (let i = 0; i < depth; i++) {
    assert.notEqual(dup, orig);
    assert.notEqual(dup.attrs, orig.attrs);
    orig = orig.children.find((c): c is Element => typeof c !== "string" && c.name === "a")!;
    dup = dup.children.find((c): c is Element => typeof c !== "string" && c.name === "a")!;
  }
});

Deno.test("serialize is the same on both sides of its recursion budget", () => {
  // Depths around the switch from the recursive writer to the explicit stack.
  for (const depth of [0, 1, 31, 32, 33, 34, 40, 70]) {
    sameXml(serialize(deepTree(depth)), deepTreeXml(depth), `depth ${depth}`);
  }
  const wide = el("q", {}, ...Array.from({ length: 5 }, (_, i) => deepTree(40 + i)));
  const expected = "<q>" + Array.from({ length: 5 }, (_, i) => deepTreeXml(40 + i)).join("") +
    "</q>";
  sameXml(serialize(wide), expected, "siblings");
  // And it round-trips through the parser.
  sameXml(serialize(parseStanza(serialize(deepTree(60)))), deepTreeXml(60), "round trip");
});
