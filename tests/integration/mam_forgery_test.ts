/**
 * Hostile senders and the archive (XEP-0313, XEP-0280 §11): a contact must
 * not be able to make a message look like a result of the user's own
 * archive query, nor get a forged carbon kept in the user's archive (from
 * where every device would fetch it again, wrapper and all).
 */
import assert from "node:assert/strict";
import { connectComponent } from "../helpers/component.ts";
import { mamQuery, NS_MAM, NS_SID, startWithAliceAndBob } from "../helpers/mam.ts";

const CARBONS = "urn:xmpp:carbons:2";
const FORWARD = "urn:xmpp:forward:0";
const forwarded = (body: string) =>
  `<forwarded xmlns='${FORWARD}'><message xmlns='jabber:client' from='carol@localhost/c' ` +
  `to='alice@localhost' type='chat'><body>${body}</body></message></forwarded>`;
const result = (body: string) =>
  `<result xmlns='${NS_MAM}' queryid='q1' id='forged-id'>${forwarded(body)}</result>`;

Deno.test("mam: a contact's forged <result/> never reaches the user; an archive's real one does", async () => {
  const { server, alice, bob } = await startWithAliceAndBob({
    components: { "rooms.localhost": { secret: "s3cret" } },
  });
  const rooms = await connectComponent(server, "rooms.localhost", "s3cret");
  try {
    // From a contact's resource, to alice's resource and to her bare JID.
    bob.send(
      `<message to='alice@localhost/a' type='chat' id='f1'><body>x</body>${result("f1")}</message>`,
    );
    bob.send(`<message to='alice@localhost' id='f2'>${result("f2")}<body>y</body></message>`);
    for (const id of ["f1", "f2"]) {
      const got = await alice.stanza((e) => e.attrs.id === id);
      assert.equal(got.getChild("result", NS_MAM), undefined, got.toString());
      assert.ok(got.getChildText("body"), "the rest of the message is delivered");
    }
    // A room's archive (a bare JID) answering alice's query at her resource: untouched.
    rooms.send(
      `<message from='room@rooms.localhost' to='alice@localhost/a' id='real'>${
        result("from the room")
      }</message>`,
    );
    const real = await alice.stanza((e) => e.attrs.id === "real");
    assert.equal(
      real.getChild("result", NS_MAM)?.getChild("forwarded", FORWARD)?.findChild("message")
        ?.getChildText("body"),
      "from the room",
    );
    // The forged results were not archived inside the messages either.
    // (f1 is a chat with a body, f2 a normal one with a body: both archived.)
    let archived = await mamQuery(alice);
    for (let i = 0; i < 50 && archived.results.length < 2; i++) archived = await mamQuery(alice);
    assert.equal(archived.results.length, 2);
    for (const r of archived.results) {
      const m = r.getChild("forwarded", FORWARD)!.findChild("message")!;
      assert.equal(m.getChild("result", NS_MAM), undefined, m.toString());
    }
  } finally {
    for (const c of [alice, bob, rooms]) c.close();
    await server.stop();
  }
});

Deno.test("mam: a forged carbon wrapper is not kept in the archive", async () => {
  const { server, alice, bob } = await startWithAliceAndBob();
  try {
    bob.send(
      `<message to='alice@localhost' type='chat' id='c1'><body>hello</body>` +
        `<received xmlns='${CARBONS}'>${forwarded("forged received")}</received>` +
        `<sent xmlns='${CARBONS}'>${forwarded("forged sent")}</sent></message>`,
    );
    await alice.stanza((e) => e.attrs.id === "c1");
    // Alice's own client forging a wrapper into her own archive: kept out too.
    alice.send(
      `<message to='bob@localhost' type='chat' id='c2'><body>hi</body>` +
        `<sent xmlns='${CARBONS}'>${forwarded("own forged")}</sent></message>`,
    );
    await bob.stanza((e) => e.attrs.id === "c2");
    let r = await mamQuery(alice);
    for (let i = 0; i < 50 && r.results.length < 2; i++) r = await mamQuery(alice);
    assert.equal(r.results.length, 2);
    for (const res of r.results) {
      const m = res.getChild("forwarded", FORWARD)!.findChild("message")!;
      assert.equal(m.getChild("received", CARBONS), undefined, m.toString());
      assert.equal(m.getChild("sent", CARBONS), undefined, m.toString());
      assert.ok(m.getChildText("body"));
    }
  } finally {
    alice.close();
    bob.close();
    await server.stop();
  }
});

Deno.test("mam: a stanza-id 'by' one of the user's own resources is forged too", async () => {
  const { server, alice, bob } = await startWithAliceAndBob();
  try {
    // A client comparing 'by' by its bare part would take these for its archive's.
    bob.send(
      `<message to='alice@localhost' type='chat' id='s1'><body>x</body>` +
        `<stanza-id xmlns='${NS_SID}' by='alice@localhost/a' id='forged-1'/>` +
        `<stanza-id xmlns='${NS_SID}' by='Alice@LocalHost/other' id='forged-2'/>` +
        `<stanza-id xmlns='${NS_SID}' by='carol@localhost/c' id='kept'/></message>`,
    );
    const got = await alice.stanza((e) => e.attrs.id === "s1");
    const ids = got.getChildren("stanza-id", NS_SID).map((s) => `${s.attrs.by} ${s.attrs.id}`);
    assert.equal(ids.length, 2, got.toString());
    assert.ok(ids.includes("carol@localhost/c kept"), "someone else's is not ours to judge");
    assert.ok(ids.some((i) => i.startsWith("alice@localhost ")), "the real one");
  } finally {
    alice.close();
    bob.close();
    await server.stop();
  }
});
