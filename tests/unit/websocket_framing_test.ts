import assert from "node:assert/strict";
import { openElement, qualify, WsMessageReader } from "../../src/stream/websocket/framing.ts";

const LIMITS = { maxStanzaSize: 4096, maxStanzaDepth: 8 };

Deno.test("qualify: standalone elements for WebSocket messages", () => {
  assert.equal(
    qualify("<message to='a'/>", "jabber:client"),
    "<message xmlns='jabber:client' to='a'/>",
  );
  assert.equal(qualify("<iq>x</iq>", "jabber:client"), "<iq xmlns='jabber:client'>x</iq>");
  assert.equal(
    qualify("<r xmlns='urn:xmpp:sm:3'/>", "jabber:client"),
    "<r xmlns='urn:xmpp:sm:3'/>",
  );
  // An attribute value that merely contains " xmlns=" is not a declaration.
  assert.equal(
    qualify("<message id=' xmlns=x'/>", "jabber:client"),
    "<message xmlns='jabber:client' id=' xmlns=x'/>",
  );
  assert.equal(
    qualify("<stream:features><bind xmlns='b'/></stream:features>", "jabber:client"),
    "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><bind xmlns='b'/></stream:features>",
  );
});

Deno.test("openElement: the header's attributes in the framing namespace", () => {
  assert.equal(
    openElement({ xmlns: "jabber:client", id: "i&1", from: "localhost", version: "1.0" }),
    "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' id='i&amp;1' from='localhost' version='1.0'/>",
  );
});

Deno.test("WsMessageReader: one element per message, <open/> as a stream header", () => {
  const r = new WsMessageReader(LIMITS);
  const open = r.read(
    "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='x' version='1.0' xml:lang='de'/>",
  );
  assert.deepEqual(open, {
    kind: "open",
    name: "stream:stream",
    ns: "http://etherx.jabber.org/streams",
    attrs: { xmlns: "jabber:client", to: "x", version: "1.0", "xml:lang": "de" },
  });
  assert.equal(r.read("  "), undefined);
  const f = r.read("<message xmlns='jabber:client'><body>hi</body></message>");
  assert.equal(f?.kind, "stanza");
  if (f?.kind === "stanza") assert.equal(f.element.attrs.xmlns, undefined);
  assert.equal(r.read("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>")?.kind, "close");
  for (const bad of ["<a/><b/>", "<a>", "text", "<a/>text"]) {
    const e = new WsMessageReader(LIMITS).read(bad);
    assert.equal(e?.kind === "error" && e.condition, "not-well-formed", bad);
  }
  const big = new WsMessageReader(LIMITS).read("<a>" + "x".repeat(5000) + "</a>");
  assert.equal(big?.kind === "error" && big.condition, "policy-violation");
});
