import assert from "node:assert/strict";
import { iq, type TestClient } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import type { Element } from "../../src/xml/element.ts";
import { avatarContacts, capsLogin, event, NS_PUBSUB, publishXml } from "../helpers/pep.ts";

const META = "urn:xmpp:avatar:metadata";
const DATA = "urn:xmpp:avatar:data";
const VCARD4 = "urn:xmpp:vcard4";

async function sha1Hex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-1", bytes as BufferSource));
  return Array.from(d).map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Alice and bob on each other's roster, logged in; bob wants alice's avatar metadata. */
/** Alice publishes avatar metadata (`info` elements) as item `id`; the iq reply. */
function publishMetadata(alice: TestClient, id: string, info: string): Promise<Element> {
  return iq(alice, "m", publishXml("m", META, id, `<metadata xmlns='${META}'>${info}</metadata>`));
}

Deno.test("XEP-0398: a vCard PHOTO set by an old client becomes the PEP avatar", async () => {
  const server = await startTestServer();
  try {
    const { alice, bob } = await avatarContacts(server);
    const bytes = new TextEncoder().encode("old-client-photo");
    const b64 = btoa("old-client-photo");
    const hash = await sha1Hex(bytes);
    const set = await iq(
      alice,
      "v",
      `<iq type='set' id='v'><vCard xmlns='vcard-temp'><FN>Alice</FN><PHOTO><TYPE>image/jpeg</TYPE>` +
        `<BINVAL>${b64}</BINVAL></PHOTO></vCard></iq>`,
    );
    assert.equal(set.attrs.type, "result");
    const items = await event(bob, "alice@localhost", META);
    const info = items.getChild("item")!.getChild("metadata", META)!.getChild("info")!;
    assert.deepEqual([info.attrs.id, info.attrs.type, info.attrs.bytes], [
      hash,
      "image/jpeg",
      String(bytes.length),
    ]);
    const data = await iq(
      bob,
      "d",
      `<iq type='get' id='d' to='alice@localhost'><pubsub xmlns='${NS_PUBSUB}'>` +
        `<items node='${DATA}'><item id='${hash}'/></items></pubsub></iq>`,
    );
    assert.equal(
      data.getChild("pubsub", NS_PUBSUB)!.getChild("items")!.getChild("item")!.getChildText(
        "data",
        DATA,
      ),
      b64,
    );
    // The vCard itself is kept as written (FN included).
    const vc = await iq(
      bob,
      "vc",
      `<iq type='get' id='vc' to='alice@localhost'><vCard xmlns='vcard-temp'/></iq>`,
    );
    assert.equal(vc.getChild("vCard", "vcard-temp")?.getChildText("FN"), "Alice");

    // vCard4 over PEP (XEP-0292) is an ordinary node: published and read back.
    const card = `<vcard xmlns='${VCARD4}'><fn><text>Alice</text></fn></vcard>`;
    const pub = await iq(alice, "v4", publishXml("v4", VCARD4, "current", card));
    assert.equal(pub.attrs.type, "result", pub.toString());
    const got = await iq(
      bob,
      "g4",
      `<iq type='get' id='g4' to='alice@localhost'><pubsub xmlns='${NS_PUBSUB}'>` +
        `<items node='${VCARD4}'/></pubsub></iq>`,
    );
    assert.ok(got.toString().includes("<text>Alice</text>"));
  } finally {
    await server.stop();
  }
});

// A vCard without PHOTO, and an emptied one: both take the PEP avatar away.
for (
  const [what, vcard] of [
    ["a vCard set without PHOTO", `<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>`],
    ["an emptied vCard", `<vCard xmlns='vcard-temp'/>`],
  ]
) {
  Deno.test(`XEP-0398: ${what} removes the PEP avatar (empty metadata)`, async () => {
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

      const cleared = await iq(alice, "v2", `<iq type='set' id='v2'>${vcard}</iq>`);
      assert.equal(cleared.attrs.type, "result");
      const second = await event(bob, "alice@localhost", META);
      const meta = second.getChild("item")!.getChild("metadata", META)!;
      assert.equal(meta.getChildren().length, 0, second.toString());
    } finally {
      await server.stop();
    }
  });
}

Deno.test("XEP-0153: after the avatar is removed, presence says so with an empty <photo/>", async () => {
  const server = await startTestServer();
  try {
    const { alice, bob } = await avatarContacts(server);
    const png = btoa("p");
    const info = `<info id='${await sha1Hex(new TextEncoder().encode("p"))}' type='image/png' ` +
      `bytes='1'/>`;
    const hash = info.match(/id='([0-9a-f]+)'/)![1];
    await iq(alice, "d", publishXml("d", DATA, hash, `<data xmlns='${DATA}'>${png}</data>`));
    await publishMetadata(alice, hash, info);
    await event(bob, "alice@localhost", META);
    const removed = await iq(
      alice,
      "r",
      publishXml("r", META, "current", `<metadata xmlns='${META}'/>`),
    );
    assert.equal(removed.attrs.type, "result", removed.toString());
    await event(bob, "alice@localhost", META);
    alice.send("<presence><show>away</show></presence>");
    const p = await bob.stanza((e) =>
      e.name === "presence" && e.attrs.from === "alice@localhost/a" &&
      e.getChildText("show") === "away"
    );
    const photo = p.getChild("x", "vcard-temp:x:update")?.getChild("photo");
    assert.ok(photo, p.toString());
    assert.equal(photo.text(), "");
  } finally {
    await server.stop();
  }
});

async function withAvatar() {
  const server = await startTestServer();
  const { client: alice } = await capsLogin(server, "alice", "wonderland", "a", []);
  const { client: bob } = await capsLogin(server, "bob", "builder", "b", []);
  const bytes = new TextEncoder().encode("img");
  const hash = await sha1Hex(bytes);
  const set = await iq(
    alice,
    "v",
    `<iq type='set' id='v'><vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE>` +
      `<BINVAL>${btoa("img")}</BINVAL></PHOTO></vCard></iq>`,
  );
  assert.equal(set.attrs.type, "result");
  return { server, alice, bob, hash };
}

Deno.test("XEP-0398: the hash goes into directed presence too; a client's empty <photo/> stays", async () => {
  const { server, alice, bob, hash } = await withAvatar();
  try {
    alice.send("<presence to='bob@localhost/b'><status>one</status></presence>");
    const p1 = await bob.stanza((e) => e.name === "presence" && e.getChildText("status") === "one");
    assert.equal(p1.getChild("x", "vcard-temp:x:update")?.getChildText("photo"), hash);
    alice.send(
      "<presence to='bob@localhost/b'><status>two</status>" +
        "<x xmlns='vcard-temp:x:update'><photo/></x></presence>",
    );
    const p2 = await bob.stanza((e) => e.name === "presence" && e.getChildText("status") === "two");
    assert.equal(p2.getChild("x", "vcard-temp:x:update")?.getChildText("photo"), "");
    const info = await iq(
      alice,
      "di",
      `<iq type='get' id='di' to='alice@localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
    );
    assert.ok(info.toString().includes("var='urn:xmpp:pep-vcard-conversion:0'"));
  } finally {
    await server.stop();
  }
});

Deno.test("XEP-0398: PEP avatar data not matching its SHA-1 id is not copied into the vCard", async () => {
  const server = await startTestServer();
  try {
    const { client: alice } = await capsLogin(server, "alice", "wonderland", "a", []);
    const fake = "0123456789abcdef0123456789abcdef01234567";
    await iq(alice, "d", publishXml("d", DATA, fake, `<data xmlns='${DATA}'>${btoa("x")}</data>`));
    const m = await publishMetadata(alice, fake, `<info id='${fake}' type='image/png' bytes='1'/>`);
    assert.equal(m.attrs.type, "result");
    const vc = await iq(alice, "vc", `<iq type='get' id='vc'><vCard xmlns='vcard-temp'/></iq>`);
    assert.equal(vc.getChild("vCard", "vcard-temp")?.getChild("PHOTO"), undefined, vc.toString());
  } finally {
    await server.stop();
  }
});

Deno.test("XEP-0398: metadata naming only a URL-hosted image keeps the vCard PHOTO", async () => {
  const { server, alice } = await withAvatar();
  try {
    const m = await publishMetadata(
      alice,
      "u1",
      `<info id='u1' type='image/png' bytes='9' url='https://img.example/a.png'/>`,
    );
    assert.equal(m.attrs.type, "result");
    const vc = await iq(alice, "vc", `<iq type='get' id='vc'><vCard xmlns='vcard-temp'/></iq>`);
    const binval = vc.getChild("vCard", "vcard-temp")?.getChild("PHOTO")?.getChildText("BINVAL");
    assert.equal(binval, btoa("img"), vc.toString());
  } finally {
    await server.stop();
  }
});
