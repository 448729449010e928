/**
 * A persistent room survives a restart (same data directory, SQLite):
 * its configuration, affiliations, reserved nicks, subject and archive
 * come back; a temporary room does not.
 */
import assert from "node:assert/strict";
import { errorCondition, iq } from "../helpers/client.ts";
import {
  admin,
  createRoom,
  join,
  login,
  MUC,
  mucItem,
  startMucServer,
  statusCodes,
} from "../helpers/muc.ts";

const DISCO_INFO = "http://jabber.org/protocol/disco#info";
const DISCO_ITEMS = "http://jabber.org/protocol/disco#items";

Deno.test("muc: a persistent room survives a server restart", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "parley-muc-" });
  const overrides = { dataDir, storage: { driver: "sqlite" } };
  const first = await startMucServer(overrides);
  const room = `keep@${MUC}`;
  try {
    const alice = await login(first, "alice");
    await createRoom(alice, room, "Alice", {
      persistentroom: "1",
      roomname: "Kept",
      membersonly: "1",
    });
    await createRoom(alice, `gone@${MUC}`, "Alice");
    const r = await admin(alice, room, `<item jid='bob@localhost' affiliation='member'/>`);
    assert.equal(r.attrs.type, "result");
    alice.send(`<message to='${room}' type='groupchat'><subject>Stays</subject></message>`);
    await alice.stanza((e) => e.name === "message" && e.getChildText("subject") === "Stays");
    alice.send(`<message to='${room}' type='groupchat'><body>remember me</body></message>`);
    await alice.stanza((e) => e.name === "message" && e.getChildText("body") === "remember me");
    alice.send(`<presence to='${room}/Alice' type='unavailable'/>`);
    await alice.stanza((e) => e.name === "presence" && e.attrs.from === `${room}/Alice`);
    // Empty but persistent: still listed.
    const items = await iq(
      alice,
      "it",
      `<iq type='get' id='it' to='${MUC}'><query xmlns='${DISCO_ITEMS}'/></iq>`,
    );
    assert.deepEqual(
      items.getChild("query", DISCO_ITEMS)!.getChildren("item").map((
        i,
      ) => [i.attrs.jid, i.attrs.name]),
      [[room, "Kept"], [`gone@${MUC}`, "gone"]],
    );
    alice.close();
  } finally {
    await first.close();
  }

  const second = await startMucServer(overrides);
  try {
    const bob = await login(second, "bob");
    const joined = await join(bob, room, "Bob");
    // Not created again (no 201); bob is still a member of a members-only room.
    assert.deepEqual(statusCodes(joined.self).sort(), ["110", "170"]);
    assert.equal(mucItem(joined.self)!.attrs.affiliation, "member");
    assert.equal(joined.subject.getChildText("subject"), "Stays");
    assert.equal(joined.subject.attrs.from, `${room}/Alice`);
    assert.deepEqual(joined.history.map((m) => m.getChildText("body")), ["remember me"]);
    const info = await iq(
      bob,
      "in",
      `<iq type='get' id='in' to='${room}'><query xmlns='${DISCO_INFO}'/></iq>`,
    );
    const query = info.getChild("query", DISCO_INFO)!;
    assert.equal(query.getChild("identity")!.attrs.name, "Kept");
    const features = query.getChildren("feature").map((f) => f.attrs.var);
    for (const f of ["muc_persistent", "muc_membersonly", "http://jabber.org/protocol/muc"]) {
      assert.ok(features.includes(f), f);
    }
    const gone = await iq(
      bob,
      "g",
      `<iq type='get' id='g' to='gone@${MUC}'><query xmlns='${DISCO_INFO}'/></iq>`,
    );
    assert.equal(errorCondition(gone), "item-not-found");
    // Carol has no affiliation: members only.
    const carol = await login(second, "carol");
    const refused = await join(carol, room, "Carol");
    assert.equal(errorCondition(refused.self), "registration-required");
    bob.close();
    carol.close();
  } finally {
    await second.stop();
  }
});
