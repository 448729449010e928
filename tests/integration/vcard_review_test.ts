/**
 * vCard ↔ PEP avatar conversion (XEP-0398) found wanting in review: a
 * PEP avatar must not smuggle a vCard over `vcard.maxBytes` into the
 * vCard store. (An emptied vCard dropping the avatar: pep_vcard_test.ts.)
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { iq } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { capsLogin, publishXml } from "../helpers/pep.ts";

const META = "urn:xmpp:avatar:metadata";
const DATA = "urn:xmpp:avatar:data";

Deno.test("vcard review: a PEP avatar too big for vcard.maxBytes is not copied into the vCard", async () => {
  const server = await startTestServer({ vcard: { maxBytes: 2048 } });
  try {
    const { client: alice } = await capsLogin(server, "alice", "wonderland", "a", []);
    const set = await iq(
      alice,
      "v",
      `<iq type='set' id='v'><vCard xmlns='vcard-temp'><FN>Alice</FN></vCard></iq>`,
    );
    assert.equal(set.attrs.type, "result");
    const image = new Uint8Array(4096).map((_, i) => i % 251);
    const b64 = btoa(String.fromCharCode(...image));
    const id = createHash("sha1").update(image).digest("hex");
    const d = await iq(
      alice,
      "d",
      publishXml("d", DATA, id, `<data xmlns='${DATA}'>${b64}</data>`),
    );
    assert.equal(d.attrs.type, "result", d.toString());
    const m = await iq(
      alice,
      "m",
      publishXml(
        "m",
        META,
        id,
        `<metadata xmlns='${META}'><info id='${id}' type='image/png' bytes='4096'/></metadata>`,
      ),
    );
    assert.equal(m.attrs.type, "result");
    const vc = await iq(alice, "vc", `<iq type='get' id='vc'><vCard xmlns='vcard-temp'/></iq>`);
    const card = vc.getChild("vCard", "vcard-temp")!;
    assert.equal(card.getChildText("FN"), "Alice");
    assert.equal(card.getChild("PHOTO"), undefined, "over the limit: the vCard is left as it was");
    assert.ok(new TextEncoder().encode(card.toString()).length <= 2048);
    // The copy itself works here: an avatar under the limit does reach the vCard, so the
    // PHOTO missing above is the limit's doing, not a copy that never runs.
    const small = image.slice(0, 64);
    const smallB64 = btoa(String.fromCharCode(...small));
    const smallId = createHash("sha1").update(small).digest("hex");
    const d2 = await iq(
      alice,
      "d2",
      publishXml("d2", DATA, smallId, `<data xmlns='${DATA}'>${smallB64}</data>`),
    );
    assert.equal(d2.attrs.type, "result", d2.toString());
    const m2 = await iq(
      alice,
      "m2",
      publishXml(
        "m2",
        META,
        smallId,
        `<metadata xmlns='${META}'><info id='${smallId}' type='image/png' bytes='64'/></metadata>`,
      ),
    );
    assert.equal(m2.attrs.type, "result", m2.toString());
    const vc2 = await iq(alice, "vc2", `<iq type='get' id='vc2'><vCard xmlns='vcard-temp'/></iq>`);
    const card2 = vc2.getChild("vCard", "vcard-temp")!;
    assert.equal(card2.getChild("PHOTO")?.getChildText("BINVAL"), smallB64, card2.toString());
    assert.equal(card2.getChildText("FN"), "Alice");
  } finally {
    await server.stop();
  }
});
