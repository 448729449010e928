/**
 * A stanza may carry elements in the streams namespace deep inside (a
 * peer put them there); serialized they use the `stream:` prefix, which
 * a TCP stream's header declares. WebSocket messages and BOSH bodies are
 * documents of their own: they must declare it where it is used.
 */
import assert from "node:assert/strict";
import { type Frame, XmlFrameParser } from "../../src/xml/parser.ts";
import { qualify as wsQualify } from "../../src/stream/websocket/framing.ts";
import { bodyXml, qualify as boshQualify } from "../../src/http/bosh/response.ts";
import { NS } from "../../src/xml/namespaces.ts";

/** Whether `xml` is one well-formed, namespace-well-formed element on its own. */
function standalone(xml: string): boolean {
  const frames: Frame[] = [];
  const p = new XmlFrameParser((f) => frames.push(f));
  // A root that declares nothing: the element must declare what it uses.
  p.write("<root xmlns=''>" + xml);
  return frames.length === 2 && frames[1].kind === "stanza";
}

const NESTED = "<message><body>hi</body><stream:x><stream:y/></stream:x></message>";

Deno.test("a WebSocket message declares the stream prefix used inside its element", () => {
  const out = wsQualify(NESTED, NS.client);
  assert.ok(standalone(out), out);
  // A top-level stream element still declares it once, on itself.
  const features = wsQualify("<stream:features><bind xmlns='urn:b'/></stream:features>", NS.client);
  assert.ok(standalone(features), features);
  assert.equal(features.split("xmlns:stream").length, 2, features);
  // Nothing added where no prefix is used.
  assert.equal(
    wsQualify("<message><body>a &lt;stream:x</body></message>", NS.client),
    "<message xmlns='jabber:client'><body>a &lt;stream:x</body></message>",
  );
});

Deno.test("a BOSH body declares the stream prefix used inside its payload", () => {
  const body = bodyXml({ sid: "s" }, [boshQualify(NESTED)]);
  assert.ok(standalone(body), body);
});
