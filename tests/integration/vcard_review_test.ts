/**
 * vCard ↔ PEP avatar conversion (XEP-0398) found wanting in review: an
 * emptied vCard must drop the PEP avatar as a vCard without PHOTO does,
 * and a PEP avatar must not smuggle a vCard over `vcard.maxBytes` into
 * the vCard store.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { iq } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { avatarContacts, capsLogin, event, publishXml } from "../helpers/pep.ts";

const META = "urn:xmpp:avatar:metadata";
const DATA = "urn:xmpp:avatar:data";

Deno.test("vcard review: an emptied vCard removes the PEP avatar (empty metadata), as one without PHOTO does", async () => {
  const server = await startTestServer();
  try {
    const { alice, bob } = await avatarContacts(server);
    const set = await iq(
      alice,
      "v1",
      `<iq type='set' id='v1'><vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE>` +
        `<BINVAL>${btoa("photo")}</BINVAL></PHOTO></vCard></iq>`,
    );
    assert.equal(set.attrs.type, "result");
    const first = await event(bob, "alice@localhost", META);
    assert.ok(first.getChild("item")!.getChild("metadata", META)!.getChild("info"));

    const cleared = await iq(
      alice,
      "v2",
      `<iq type='set' id='v2'><vCard xmlns='vcard-temp'/></iq>`,
    );
    assert.equal(cleared.attrs.type, "result");
    const second = await event(bob, "alice@localhost", META);
    const meta = second.getChild("item")!.getChild("metadata", META)!;
    assert.equal(meta.getChildren().length, 0, second.toString());
  } finally {
    await server.stop();
  }
});

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
  } finally {
    await server.stop();
  }
});
