/**
 * MUC basics over real sockets: creating an instant room (201), joining
 * (occupants first, then the self-presence with 110, then the subject),
 * groupchat with the room's stanza-id and occupant ids, private
 * messages, leaving, and a temporary room gone when empty.
 */
import assert from "node:assert/strict";
import { errorCondition, iq } from "../helpers/client.ts";
import {
  createRoom,
  join,
  MUC,
  mucItem,
  NS_MUC_USER,
  presenceFrom,
  startMucWith,
  statusCodes,
} from "../helpers/muc.ts";

const NS_OID = "urn:xmpp:occupant-id:0";
const NS_SID = "urn:xmpp:sid:0";

Deno.test("muc: instant room, join, groupchat, private message, leave", async () => {
  const { server, alice, bob } = await startMucWith(["alice", "bob"]);
  try {
    const room = `tea@${MUC}`;
    const self = await createRoom(alice, room, "Alice");
    assert.deepEqual(statusCodes(self).sort(), ["110", "170", "201"]);
    assert.equal(mucItem(self)!.attrs.affiliation, "owner");
    assert.equal(mucItem(self)!.attrs.role, "moderator");

    const joined = await join(bob, room, "Bob");
    assert.deepEqual(joined.before.map((p) => p.attrs.from), [`${room}/Alice`]);
    assert.equal(mucItem(joined.self)!.attrs.role, "participant");
    assert.equal(mucItem(joined.self)!.attrs.affiliation, "none");
    // Semi-anonymous: bob does not see alice's JID; alice (moderator) sees bob's.
    assert.equal(mucItem(joined.before[0])!.attrs.jid, undefined);
    assert.equal(joined.subject.getChildText("subject"), "");
    const seen = await presenceFrom(alice, `${room}/Bob`);
    assert.equal(mucItem(seen)!.attrs.jid, "bob@localhost/r");
    const oid = seen.getChild("occupant-id", NS_OID)!.attrs.id;
    assert.ok(oid.length > 10);

    bob.send(`<message to='${room}' type='groupchat' id='m1'><body>hello</body></message>`);
    const got = await alice.stanza((e) =>
      e.name === "message" && e.getChildText("body") === "hello"
    );
    assert.equal(got.attrs.from, `${room}/Bob`);
    assert.equal(got.getChild("stanza-id", NS_SID)!.attrs.by, room);
    assert.equal(got.getChild("occupant-id", NS_OID)!.attrs.id, oid);
    const echo = await bob.stanza((e) =>
      e.name === "message" && e.getChildText("body") === "hello"
    );
    assert.equal(echo.attrs.id, "m1");

    alice.send(`<message to='${room}/Bob' type='chat'><body>psst</body></message>`);
    const pm = await bob.stanza((e) => e.name === "message" && e.getChildText("body") === "psst");
    assert.equal(pm.attrs.from, `${room}/Alice`);
    assert.ok(pm.getChild("x", NS_MUC_USER));

    // Self-ping (XEP-0410): answered by the service while joined.
    const ping = await iq(
      bob,
      "sp1",
      `<iq type='get' id='sp1' to='${room}/Bob'><ping xmlns='urn:xmpp:ping'/></iq>`,
    );
    assert.equal(ping.attrs.type, "result");

    bob.send(`<presence to='${room}/Bob' type='unavailable'/>`);
    const left = await presenceFrom(alice, `${room}/Bob`, "unavailable");
    assert.equal(mucItem(left)!.attrs.role, "none");
    const own = await presenceFrom(bob, `${room}/Bob`, "unavailable");
    assert.ok(statusCodes(own).includes("110"));
    const ping2 = await iq(
      bob,
      "sp2",
      `<iq type='get' id='sp2' to='${room}/Bob'><ping xmlns='urn:xmpp:ping'/></iq>`,
    );
    assert.equal(errorCondition(ping2), "not-acceptable");

    alice.send(`<presence to='${room}/Alice' type='unavailable'/>`);
    await presenceFrom(alice, `${room}/Alice`, "unavailable");
    // Temporary and empty: gone.
    const info = await iq(
      bob,
      "d1",
      `<iq type='get' id='d1' to='${room}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
    );
    assert.equal(errorCondition(info), "item-not-found");
  } finally {
    alice.close();
    bob.close();
    await server.stop();
  }
});
