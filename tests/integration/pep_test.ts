import assert from "node:assert/strict";
import { errorCondition, iq } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { until } from "../helpers/pep.ts";
import { capsLogin, event, isEvent, NS_PUBSUB, publishXml, seedRoster } from "../helpers/pep.ts";

const DEVICES = "eu.siacs.conversations.axolotl.devicelist";
const bundle = (id: string) => `eu.siacs.conversations.axolotl.bundles:${id}`;
const AXOLOTL = "eu.siacs.conversations.axolotl";
const ERRORS = "http://jabber.org/protocol/pubsub#errors";

Deno.test("pep: OMEMO-style device lists and bundles, open access, fetched by each other", async () => {
  const server = await startTestServer();
  try {
    // No roster relation at all: open access is what makes it work.
    const { client: alice } = await capsLogin(server, "alice", "wonderland", "a", [
      DEVICES + "+notify",
    ]);
    const { client: bob } = await capsLogin(server, "bob", "builder", "b", [DEVICES + "+notify"]);
    const open = { "pubsub#access_model": "open" };
    for (const [c, id] of [[alice, "111"], [bob, "222"]] as const) {
      const list = `<list xmlns='${AXOLOTL}'><device id='${id}'/></list>`;
      const r = await iq(c, "dl", publishXml("dl", DEVICES, "current", list, open));
      assert.equal(r.attrs.type, "result", r.toString());
      assert.equal(
        r.getChild("pubsub", NS_PUBSUB)?.getChild("publish")?.getChild("item")?.attrs.id,
        "current",
      );
      const b =
        `<bundle xmlns='${AXOLOTL}'><signedPreKeyPublic signedPreKeyId='1'>AAAA</signedPreKeyPublic></bundle>`;
      const r2 = await iq(
        c,
        "bu",
        publishXml("bu", bundle(id), "current", b, { ...open, "pubsub#max_items": "max" }),
      );
      assert.equal(r2.attrs.type, "result", r2.toString());
    }
    // Owner's own resource is notified of its own device list (own +notify).
    const own = await event(alice, "alice@localhost", DEVICES);
    assert.equal(own.getChild("item")?.attrs.id, "current");

    // Each fetches the other's device list and bundle.
    const dl = await iq(
      alice,
      "f1",
      `<iq type='get' id='f1' to='bob@localhost'><pubsub xmlns='${NS_PUBSUB}'><items node='${DEVICES}'/></pubsub></iq>`,
    );
    assert.equal(dl.attrs.type, "result", dl.toString());
    const item = dl.getChild("pubsub", NS_PUBSUB)!.getChild("items")!.getChild("item")!;
    assert.equal(item.getChild("list", AXOLOTL)?.getChild("device")?.attrs.id, "222");
    const bb = await iq(
      bob,
      "f2",
      `<iq type='get' id='f2' to='alice@localhost'><pubsub xmlns='${NS_PUBSUB}'><items node='${
        bundle("111")
      }' max_items='1'/></pubsub></iq>`,
    );
    assert.equal(bb.attrs.type, "result", bb.toString());
    assert.ok(bb.toString().includes("signedPreKeyPublic"));

    // A precondition that does not match the node: conflict + precondition-not-met.
    const bad = await iq(
      alice,
      "pc",
      publishXml("pc", DEVICES, "current", `<list xmlns='${AXOLOTL}'/>`, {
        "pubsub#access_model": "presence",
      }),
    );
    assert.equal(errorCondition(bad), "conflict");
    assert.ok(bad.getChild("error")?.getChild("precondition-not-met", ERRORS));

    // Notifications go only to resources whose presence the account's
    // server sees (own resources, contacts): bob, not a contact, gets none
    // even for an open node; he fetches instead, as OMEMO clients do.
    const r3 = await iq(
      alice,
      "dl2",
      publishXml(
        "dl2",
        DEVICES,
        "current",
        `<list xmlns='${AXOLOTL}'><device id='333'/></list>`,
        open,
      ),
    );
    assert.equal(r3.attrs.type, "result");
    await event(alice, "alice@localhost", DEVICES);
    await bob.nothing(isEvent("alice@localhost", DEVICES), 100);
  } finally {
    await server.stop();
  }
});

Deno.test("pep: avatar seen by a subscribed contact with +notify caps, not by one without", async () => {
  const server = await startTestServer({}, {
    alice: "wonderland",
    bob: "builder",
    carol: "c",
  });
  try {
    await seedRoster(server, "alice", [
      { jid: "bob@localhost", subscription: "both" },
      { jid: "carol@localhost", subscription: "both" },
    ]);
    await seedRoster(server, "bob", [{ jid: "alice@localhost", subscription: "both" }]);
    await seedRoster(server, "carol", [{ jid: "alice@localhost", subscription: "both" }]);
    const META = "urn:xmpp:avatar:metadata";
    const alice = await capsLogin(server, "alice", "wonderland", "a", []);
    const bob = await capsLogin(server, "bob", "builder", "b", [META + "+notify"]);
    const carol = await capsLogin(server, "carol", "c", "c", ["urn:xmpp:other+notify"]);
    // The server asked bob's caps (an unknown ver) once.
    await until(() => bob.queries.length > 0);
    assert.equal(bob.queries.length, 1);
    assert.match(bob.queries[0].firstElement()!.attrs.node!, /#/);
    assert.equal(bob.queries[0].attrs.from, "localhost");

    // A second bob resource with the same caps: no new query (cached).
    const bob2 = await capsLogin(server, "bob", "builder", "b2", [META + "+notify"]);
    assert.equal(bob2.queries.length, 0);

    const b64 = btoa("png-bytes");
    const hash = Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode("png-bytes"))),
    ).map((b) => b.toString(16).padStart(2, "0")).join("");
    const data = await iq(
      alice.client,
      "d",
      publishXml(
        "d",
        "urn:xmpp:avatar:data",
        hash,
        `<data xmlns='urn:xmpp:avatar:data'>${b64}</data>`,
      ),
    );
    assert.equal(data.attrs.type, "result", data.toString());
    const meta = await iq(
      alice.client,
      "m",
      publishXml(
        "m",
        META,
        hash,
        `<metadata xmlns='${META}'><info id='${hash}' bytes='9' type='image/png'/></metadata>`,
      ),
    );
    assert.equal(meta.attrs.type, "result", meta.toString());
    for (const c of [bob.client, bob2.client]) {
      const items = await event(c, "alice@localhost", META);
      assert.equal(items.getChild("item")?.attrs.id, hash);
      assert.ok(items.getChild("item")?.getChild("metadata", META));
    }
    await carol.client.nothing(isEvent("alice@localhost", META), 100);

    // XEP-0398: the avatar is now alice's vCard PHOTO…
    const vc = await iq(
      bob.client,
      "vc",
      `<iq type='get' id='vc' to='alice@localhost'><vCard xmlns='vcard-temp'/></iq>`,
    );
    assert.equal(
      vc.getChild("vCard", "vcard-temp")?.getChild("PHOTO")?.getChildText("BINVAL"),
      b64,
    );
    // …and XEP-0153: her presence carries its hash.
    alice.client.send("<presence><status>hi</status></presence>");
    const p = await bob.client.stanza((e) =>
      e.name === "presence" && e.attrs.from === "alice@localhost/a" &&
      e.getChildText("status") === "hi"
    );
    assert.equal(p.getChild("x", "vcard-temp:x:update")?.getChildText("photo"), hash);

    // Last item on presence: a new bob resource gets the current metadata.
    const bob3 = await capsLogin(server, "bob", "builder", "b3", [META + "+notify"]);
    const last = await event(bob3.client, "alice@localhost", META);
    assert.equal(last.getChild("item")?.attrs.id, hash);
    // …and so does a new resource of alice's own.
    const alice2 = await capsLogin(server, "alice", "wonderland", "a2", [META + "+notify"]);
    const own = await event(alice2.client, "alice@localhost", META);
    assert.equal(own.getChild("item")?.attrs.id, hash);
    // carol, still without +notify for it, got nothing all along.
    await carol.client.nothing(isEvent("alice@localhost", META), 50);
  } finally {
    await server.stop();
  }
});
