/** Which stanzas an inactive client's session may hold back (XEP-0352), and under which key. */
import assert from "node:assert/strict";
import { holdKey } from "../../src/modules/csi/importance.ts";
import { parseElement } from "../../src/util/xml_fragment.ts";

const key = (xml: string) => holdKey(parseElement(xml)!);
const STATES = "http://jabber.org/protocol/chatstates";
const carbon = (dir: string, inner: string) =>
  `<message from='a@x' to='a@x/r'><${dir} xmlns='urn:xmpp:carbons:2'>` +
  `<forwarded xmlns='urn:xmpp:forward:0'>${inner}</forwarded></${dir}></message>`;

Deno.test("csi: presence updates wait, one per sending full JID; the rest is important", () => {
  assert.equal(key(`<presence from='b@x/r'><show>away</show></presence>`), "p b@x/r");
  assert.equal(key(`<presence from='b@x/r' type='unavailable'/>`), "p b@x/r");
  assert.equal(key(`<presence from='b@x' type='subscribe'/>`), undefined);
  assert.equal(key(`<presence from='b@x' type='error'/>`), undefined);
  const selfInRoom =
    `<presence from='room@muc/me'><x xmlns='http://jabber.org/protocol/muc#user'>` +
    `<status code='110'/></x></presence>`;
  assert.equal(key(selfInRoom), undefined);
});

Deno.test("csi: chat states wait per sender; receipts and markers wait each; content does not", () => {
  assert.equal(
    key(`<message from='b@x/r' type='chat'><composing xmlns='${STATES}'/></message>`),
    "s b@x/r",
  );
  assert.equal(
    key(
      `<message from='b@x/r'><received xmlns='urn:xmpp:receipts' id='1'/><thread>t</thread></message>`,
    ),
    "",
  );
  assert.equal(
    key(`<message from='b@x/r'><displayed xmlns='urn:xmpp:chat-markers:0' id='1'/></message>`),
    "",
  );
  assert.equal(
    key(`<message from='b@x/r'><body>hi</body><active xmlns='${STATES}'/></message>`),
    undefined,
  );
  assert.equal(
    key(`<message from='b@x/r' type='error'><composing xmlns='${STATES}'/></message>`),
    undefined,
  );
  assert.equal(
    key(`<message from='b@x'><result xmlns='urn:xmpp:mam:2' id='1'/></message>`),
    undefined,
  );
  assert.equal(key(`<message from='b@x'><unknown xmlns='urn:example'/></message>`), undefined);
  assert.equal(key(`<iq from='b@x/r' type='get' id='1'/>`), undefined);
});

Deno.test("csi: a carbon is as important as the message it carries", () => {
  assert.equal(
    key(carbon("received", `<message from='b@x/r'><body>hi</body></message>`)),
    undefined,
  );
  assert.equal(
    key(carbon("sent", `<message to='b@x/r'><paused xmlns='${STATES}'/></message>`)),
    "carbon s b@x/r",
  );
  assert.equal(key(carbon("received", "")), undefined, "a malformed carbon is not held");
});
