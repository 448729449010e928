import assert from "node:assert/strict";
import { isEligible } from "../../src/modules/carbons/eligibility.ts";
import { carbonCopy } from "../../src/modules/carbons/wrap.ts";
import { parseElement } from "../../src/util/xml_fragment.ts";

const m = (xml: string) => parseElement(xml)!;

Deno.test("carbons eligibility: the XEP-0280 §6 rules", () => {
  const cases: [string, boolean, boolean][] = [
    // [message, sent eligible, received eligible]
    ["<message type='chat'/>", true, true],
    ["<message><body>hi</body></message>", true, true],
    ["<message type='normal'/>", false, false],
    ["<message type='x-unknown'><body>hi</body></message>", true, true],
    ["<message type='headline'><body>news</body></message>", false, false],
    ["<message type='groupchat'><body>room</body></message>", false, false],
    [
      "<message><active xmlns='http://jabber.org/protocol/chatstates'/></message>",
      true,
      true,
    ],
    ["<message><received xmlns='urn:xmpp:receipts' id='1'/></message>", true, true],
    ["<message><displayed xmlns='urn:xmpp:chat-markers:0' id='1'/></message>", true, true],
    ["<message><x xmlns='jabber:x:conference' jid='r@muc.example'/></message>", true, true],
    // Opt-outs, and carbons themselves.
    ["<message type='chat'><private xmlns='urn:xmpp:carbons:2'/></message>", false, false],
    ["<message type='chat'><no-copy xmlns='urn:xmpp:hints'/></message>", false, false],
    ["<message type='chat'><sent xmlns='urn:xmpp:carbons:2'/></message>", false, false],
    ["<message type='chat'><received xmlns='urn:xmpp:carbons:2'/></message>", false, false],
    // MUC: a private message from an occupant is not copied, one to an occupant is;
    // a mediated invitation from the room is.
    [
      "<message type='chat' from='r@muc.example/nick'>" +
      "<x xmlns='http://jabber.org/protocol/muc#user'/><body>pm</body></message>",
      true,
      false,
    ],
    [
      "<message from='r@muc.example'><x xmlns='http://jabber.org/protocol/muc#user'>" +
      "<invite from='c@example'/></x></message>",
      true,
      true,
    ],
    // Errors: only a bounce from a bare JID, only on the way in; the echoed payload is ignored.
    ["<message type='error' from='bob@example'/>", false, true],
    ["<message type='error' from='example'/>", false, true],
    [
      "<message type='error' from='bob@example/r'><body>echo</body></message>",
      false,
      false,
    ],
  ];
  for (const [xml, sent, received] of cases) {
    assert.equal(isEligible(m(xml), "sent"), sent, "sent: " + xml);
    assert.equal(isEligible(m(xml), "received"), received, "received: " + xml);
  }
});

Deno.test("carbons wrap: a clone inside <forwarded/>, in jabber:client, type kept", () => {
  const original = m(
    "<message xmlns='jabber:server' from='b@x/r' to='a@y/1' type='chat' id='i'><body>hi</body></message>",
  );
  const copy = carbonCopy("received", original, "a@y", "a@y/2");
  assert.equal(
    copy.toString(),
    "<message from='a@y' to='a@y/2' type='chat'><received xmlns='urn:xmpp:carbons:2'>" +
      "<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='b@x/r' " +
      "to='a@y/1' type='chat' id='i'><body>hi</body></message></forwarded></received></message>",
  );
  // The original is untouched, and the copy shares nothing with it.
  assert.equal(original.attrs.xmlns, "jabber:server");
  const inner = copy.firstElement()!.firstElement()!.firstElement()!;
  assert.notEqual(inner, original);
  assert.notEqual(inner.children[0], original.children[0]);
});
