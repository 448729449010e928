/**
 * Occupants coming and going without asking: a client that disconnects
 * leaves its rooms (its server's directed presence), a session whose
 * client bounces room traffic is taken out (333), a room turned
 * members-only removes non-members (322), a lost affiliation in a
 * members-only room removes its occupant (321); iqs between occupants
 * go through the room.
 */
import assert from "node:assert/strict";
import { iq } from "../helpers/client.ts";
import {
  admin,
  aliceAndBobIn,
  configure,
  join,
  MUC,
  mucItem,
  presenceFrom,
  startMucWith,
  statusCodes,
} from "../helpers/muc.ts";

Deno.test("muc: disconnects, bounces, members-only switch, iqs between occupants", async () => {
  const { server, alice, bob, carol } = await startMucWith(["alice", "bob", "carol"]);
  const room = `occ@${MUC}`;
  try {
    await aliceAndBobIn(alice, bob, room);

    // iq to another occupant: a vCard goes to the real bare JID, answered from the occupant JID.
    const vcard = await iq(
      alice,
      "vc",
      `<iq type='get' id='vc' to='${room}/Bob'><vCard xmlns='vcard-temp'/></iq>`,
    );
    assert.equal(vcard.attrs.from, `${room}/Bob`);
    assert.notEqual(vcard.attrs.type, "get");
    // Other iqs reach the occupant's client, from the asker's occupant JID.
    alice.send(`<iq type='get' id='ver' to='${room}/Bob'><query xmlns='jabber:iq:version'/></iq>`);
    const asked = await bob.stanza((e) => e.name === "iq" && e.attrs.type === "get");
    assert.equal(asked.attrs.from, `${room}/Alice`);
    bob.send(
      `<iq type='result' id='${asked.attrs.id}' to='${room}/Alice'><query xmlns='jabber:iq:version'><name>b</name></query></iq>`,
    );
    const answer = await alice.stanza((e) => e.name === "iq" && e.attrs.id === "ver");
    assert.equal(answer.attrs.type, "result");
    assert.equal(answer.attrs.from, `${room}/Bob`);

    // A bounce from an occupant's client: out, with 333 for the others.
    await join(carol, room, "Carol");
    await presenceFrom(alice, `${room}/Carol`);
    await presenceFrom(bob, `${room}/Carol`);
    carol.send(
      `<presence to='${room}/Carol' type='error'><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`,
    );
    const dropped = await presenceFrom(alice, `${room}/Carol`, "unavailable");
    assert.deepEqual(statusCodes(dropped), ["333"]);
    await presenceFrom(bob, `${room}/Carol`, "unavailable");

    // Disconnecting leaves the room.
    bob.close();
    const gone = await presenceFrom(alice, `${room}/Bob`, "unavailable");
    assert.equal(mucItem(gone)!.attrs.role, "none");

    // Members-only switch: carol (no affiliation) is removed with 322.
    await join(carol, room, "Carol");
    await presenceFrom(alice, `${room}/Carol`);
    await configure(alice, room, { membersonly: "1" });
    await alice.stanza((e) => e.name === "message" && statusCodes(e).includes("104"));
    const out = await presenceFrom(alice, `${room}/Carol`, "unavailable");
    assert.deepEqual(statusCodes(out), ["322"]);
    const own = await presenceFrom(carol, `${room}/Carol`, "unavailable");
    assert.deepEqual(statusCodes(own).sort(), ["110", "322"]);

    // A member losing the affiliation in a members-only room: 321.
    let r = await admin(alice, room, `<item jid='carol@localhost' affiliation='member'/>`);
    assert.equal(r.attrs.type, "result");
    await carol.stanza((e) => e.name === "message" && statusCodes(e).includes("101"));
    await join(carol, room, "Carol");
    await presenceFrom(alice, `${room}/Carol`);
    r = await admin(alice, room, `<item jid='carol@localhost' affiliation='none'/>`);
    assert.equal(r.attrs.type, "result");
    const removed = await presenceFrom(alice, `${room}/Carol`, "unavailable");
    assert.deepEqual(statusCodes(removed), ["321"]);
  } finally {
    for (const c of [alice, bob, carol]) c.close();
    await server.stop();
  }
});
