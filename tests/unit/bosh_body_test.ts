import assert from "node:assert/strict";
import { parseBody, parseRid } from "../../src/http/bosh/body.ts";
import { bodyXml, qualify, terminateXml } from "../../src/http/bosh/response.ts";

const limits = { maxStanzaSize: 1024, maxStanzaDepth: 8, maxStanzas: 4 };

Deno.test("bosh body: attributes, XEP-0206 attributes under any prefix, stanzas unqualified", () => {
  const r = parseBody(
    "<body xmlns='http://jabber.org/protocol/httpbind' rid='7' sid='s' x:restart='true' " +
      "xmlns:x='urn:xmpp:xbosh'><message xmlns='jabber:client' to='a@b'><body>hi</body>" +
      "</message><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/></body>",
    limits,
  );
  assert.ok(r.ok);
  assert.equal(r.body.attrs.rid, "7");
  assert.equal(r.body.xmpp.restart, "true");
  assert.equal(r.body.elements.length, 2);
  assert.equal(r.body.elements[0].attrs.xmlns, undefined);
  assert.equal(r.body.elements[0].getChildText("body"), "hi");
  assert.equal(r.body.elements[1].attrs.xmlns, "urn:ietf:params:xml:ns:xmpp-sasl");
});

Deno.test("bosh body: refusals", () => {
  const bad = (xml: string) => {
    const r = parseBody(xml, limits);
    assert.ok(!r.ok, xml);
    return r;
  };
  assert.equal(bad("<body xmlns='urn:other'/>").condition, "bad-request");
  assert.equal(bad("<body xmlns='http://jabber.org/protocol/httpbind'>").condition, "bad-request");
  const comment = bad(
    "<body xmlns='http://jabber.org/protocol/httpbind' sid='s'><!-- x --></body>",
  );
  assert.equal(comment.condition, "bad-request");
  assert.equal(comment.sid, "s");
  const many = "<presence/>".repeat(5);
  assert.equal(
    bad(`<body xmlns='http://jabber.org/protocol/httpbind'>${many}</body>`).condition,
    "policy-violation",
  );
  const big = `<message><body>${"x".repeat(2000)}</body></message>`;
  assert.equal(
    bad(`<body xmlns='http://jabber.org/protocol/httpbind'>${big}</body>`).condition,
    "policy-violation",
  );
});

Deno.test("bosh rid: positive safe integers only", () => {
  assert.equal(parseRid("42"), 42);
  assert.equal(parseRid("9007199254740991"), 9007199254740991);
  assert.equal(parseRid("9007199254740992"), undefined);
  assert.equal(parseRid("0"), undefined);
  assert.equal(parseRid("-1"), undefined);
  assert.equal(parseRid("1e3"), undefined);
  assert.equal(parseRid(undefined), undefined);
});

Deno.test("bosh response: stanzas qualified, prefixed and namespaced elements left alone", () => {
  assert.equal(
    qualify("<message to='a'>x</message>"),
    "<message xmlns='jabber:client' to='a'>x</message>",
  );
  assert.equal(qualify("<presence/>"), "<presence xmlns='jabber:client'/>");
  assert.equal(qualify("<iq>"), "<iq xmlns='jabber:client'>");
  assert.equal(qualify("<success xmlns='urn:x'/>"), "<success xmlns='urn:x'/>");
  assert.equal(qualify("<stream:features/>"), "<stream:features/>");
  assert.equal(
    qualify("<message to='a&gt;b' xmlns:foo='x'/>"),
    "<message xmlns='jabber:client' to='a&gt;b' xmlns:foo='x'/>",
  );
  // An xmlns inside an attribute value (a peer's id) is not a declaration.
  assert.equal(
    qualify("<message id=' xmlns=x' to='a'/>"),
    "<message xmlns='jabber:client' id=' xmlns=x' to='a'/>",
  );
  assert.equal(
    bodyXml({ sid: "s" }, ["<stream:features/>"]),
    "<body xmlns='http://jabber.org/protocol/httpbind' sid='s' " +
      "xmlns:stream='http://etherx.jabber.org/streams'><stream:features/></body>",
  );
  assert.equal(
    terminateXml("item-not-found"),
    "<body xmlns='http://jabber.org/protocol/httpbind' type='terminate' condition='item-not-found'/>",
  );
});
