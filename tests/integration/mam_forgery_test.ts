/**
 * Hostile senders and the archive (XEP-0313): a contact must not be able
 * to make a message look like a result of the user's own archive query.
 */
import assert from "node:assert/strict";
import { connectComponent } from "../helpers/component.ts";
import { mamQuery, NS_MAM, startWithAliceAndBob } from "../helpers/mam.ts";

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
