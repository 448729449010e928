/**
 * vCard ↔ PEP avatar conversion (XEP-0398) found wanting in review: an
 * emptied vCard must drop the PEP avatar as a vCard without PHOTO does,
 * and a PEP avatar must not smuggle a vCard over `vcard.maxBytes` into
 * the vCard store.
 */
import assert from "node:assert/strict";
import { iq } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { capsLogin, event, seedRoster } from "../helpers/pep.ts";

const META = "urn:xmpp:avatar:metadata";
const DATA = "urn:xmpp:avatar:data";

Deno.test("vcard review: an emptied vCard removes the PEP avatar (empty metadata), as one without PHOTO does", async () => {
  const server = await startTestServer();
  try {
    await seedRoster(server, "alice", [{ jid: "bob@localhost", subscription: "both" }]);
    await seedRoster(server, "bob", [{ jid: "alice@localhost", subscription: "both" }]);
    const { client: alice } = await capsLogin(server, "alice", "wonderland", "a", []);
    const { client: bob } = await capsLogin(server, "bob", "builder", "b", [META + "+notify"]);
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
