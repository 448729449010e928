/**
 * A three-user room lifecycle: every role and affiliation change,
 * checked stanza by stanza at every occupant (XEP-0045 §8–§10): voice
 * granted and revoked in a moderated room, member, admin, kick (307),
 * ban (301) and the outcast list, what admins may not do, owner
 * transfer, a moderator granted by role, the last owner kept, destroy
 * with an alternate venue.
 */
import assert from "node:assert/strict";
import type { TestClient } from "../helpers/client.ts";
import { errorCondition, iq } from "../helpers/client.ts";
import {
  admin,
  createRoom,
  join,
  MUC,
  mucItem,
  NS_MUC_ADMIN,
  NS_MUC_OWNER,
  NS_MUC_USER,
  presenceFrom,
  startMucWith,
  statusCodes,
} from "../helpers/muc.ts";

const room = `life@${MUC}`;

/** Each client's next presence of `nick`: role, affiliation and codes as seen there. */
async function seenBy(clients: TestClient[], nick: string, type?: string) {
  const out = [];
  for (const c of clients) {
    const p = await presenceFrom(c, `${room}/${nick}`, type);
    const item = mucItem(p)!;
    out.push({
      role: item.attrs.role,
      affiliation: item.attrs.affiliation,
      codes: statusCodes(p).sort(),
      actor: item.getChild("actor")?.attrs.nick,
      reason: item.getChildText("reason"),
    });
  }
  return out;
}

Deno.test("muc: roles and affiliations through a room's life, stanza by stanza", async () => {
  const { server, alice, bob, carol } = await startMucWith(["alice", "bob", "carol"]);
  try {
    await createRoom(alice, room, "Alice", { moderatedroom: "1" });
    // Moderated: newcomers without affiliation are visitors.
    const b = await join(bob, room, "Bob");
    assert.equal(mucItem(b.self)!.attrs.role, "visitor");
    assert.deepEqual(await seenBy([alice], "Bob"), [{
      role: "visitor",
      affiliation: "none",
      codes: [],
      actor: undefined,
      reason: undefined,
    }]);
    const c = await join(carol, room, "Carol");
    assert.equal(mucItem(c.self)!.attrs.role, "visitor");
    assert.deepEqual(c.before.map((p) => p.attrs.from).sort(), [`${room}/Alice`, `${room}/Bob`]);
    await seenBy([alice, bob], "Carol");

    // A visitor has no voice.
    carol.send(`<message to='${room}' type='groupchat' id='v1'><body>hi</body></message>`);
    const refused = await carol.stanza((e) => e.name === "message" && e.attrs.id === "v1");
    assert.equal(errorCondition(refused), "forbidden");

    // A voice request (§7.13): the moderator gets a form; approving it gives voice.
    carol.send(
      `<message to='${room}'><x xmlns='jabber:x:data' type='submit'>` +
        `<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>` +
        `<field var='muc#role'><value>participant</value></field></x></message>`,
    );
    const request = await alice.stanza((e) =>
      e.name === "message" && e.getChild("x", "jabber:x:data") !== undefined
    );
    const fields = request.getChild("x", "jabber:x:data")!.getChildren("field");
    assert.equal(
      fields.find((f) => f.attrs.var === "muc#roomnick")!.getChildText("value"),
      "Carol",
    );
    alice.send(
      `<message to='${room}'><x xmlns='jabber:x:data' type='submit'>` +
        `<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>` +
        `<field var='muc#roomnick'><value>Carol</value></field>` +
        `<field var='muc#request_allow'><value>true</value></field></x></message>`,
    );
    assert.deepEqual(
      (await seenBy([alice, bob, carol], "Carol")).map((v) => v.role),
      Array(3).fill("participant"),
    );
    const r0 = await admin(alice, room, `<item nick='Carol' role='visitor'/>`);
    assert.equal(r0.attrs.type, "result");
    await seenBy([alice, bob, carol], "Carol");

    // Voice granted (§8.3): everyone sees Carol as participant.
    let r = await admin(
      alice,
      room,
      `<item nick='Carol' role='participant'><reason>welcome</reason></item>`,
    );
    assert.equal(r.attrs.type, "result");
    const voiced = await seenBy([alice, bob, carol], "Carol");
    assert.deepEqual(voiced.map((v) => v.role), ["participant", "participant", "participant"]);
    assert.deepEqual(voiced.map((v) => v.codes), [[], [], ["110"]]);
    assert.equal(voiced[2].reason, "welcome");
    carol.send(`<message to='${room}' type='groupchat' id='v2'><body>thanks</body></message>`);
    await bob.stanza((e) => e.name === "message" && e.getChildText("body") === "thanks");
    await alice.stanza((e) => e.name === "message" && e.getChildText("body") === "thanks");
    await carol.stanza((e) => e.name === "message" && e.getChildText("body") === "thanks");

    // A visitor may not change roles.
    r = await admin(bob, room, `<item nick='Carol' role='visitor'/>`);
    assert.equal(errorCondition(r), "forbidden");

    // Voice revoked (§8.4).
    r = await admin(alice, room, `<item nick='Carol' role='visitor'/>`);
    assert.equal(r.attrs.type, "result");
    assert.deepEqual((await seenBy([alice, bob, carol], "Carol")).map((v) => v.role), [
      "visitor",
      "visitor",
      "visitor",
    ]);

    // Member (§9.3): a member has voice in a moderated room.
    r = await admin(alice, room, `<item jid='bob@localhost' affiliation='member'/>`);
    assert.equal(r.attrs.type, "result");
    let seen = await seenBy([alice, bob, carol], "Bob");
    assert.deepEqual(
      seen.map((v) => [v.role, v.affiliation]),
      Array(3).fill(["participant", "member"]),
    );

    // Admin (§10.6): a moderator.
    r = await admin(alice, room, `<item jid='bob@localhost' affiliation='admin'/>`);
    assert.equal(r.attrs.type, "result");
    seen = await seenBy([alice, bob, carol], "Bob");
    assert.deepEqual(
      seen.map((v) => [v.role, v.affiliation]),
      Array(3).fill(["moderator", "admin"]),
    );

    // An admin may not kick the owner, nor make anyone owner.
    r = await admin(bob, room, `<item nick='Alice' role='none'/>`);
    assert.equal(errorCondition(r), "not-allowed");
    r = await admin(bob, room, `<item jid='bob@localhost' affiliation='owner'/>`);
    assert.equal(errorCondition(r), "forbidden");
    r = await admin(bob, room, `<item jid='alice@localhost' affiliation='outcast'/>`);
    assert.equal(errorCondition(r), "not-allowed");

    // Kick (§8.2): 307 with actor and reason, 110 for Carol herself.
    r = await admin(bob, room, `<item nick='Carol' role='none'><reason>calm down</reason></item>`);
    assert.equal(r.attrs.type, "result");
    const kicked = await seenBy([alice, bob, carol], "Carol", "unavailable");
    assert.deepEqual(kicked.map((k) => k.codes), [["307"], ["307"], ["110", "307"]]);
    assert.deepEqual(
      kicked.map((k) => [k.role, k.actor, k.reason]),
      Array(3).fill(["none", "Bob", "calm down"]),
    );

    // Back, then banned (§9.1): 301; the outcast list has her; she cannot return.
    await join(carol, room, "Carol");
    await seenBy([alice, bob], "Carol");
    r = await admin(
      bob,
      room,
      `<item jid='carol@localhost' affiliation='outcast'><reason>spam</reason></item>`,
    );
    assert.equal(r.attrs.type, "result");
    const banned = await seenBy([alice, bob, carol], "Carol", "unavailable");
    assert.deepEqual(banned.map((k) => k.codes), [["301"], ["301"], ["110", "301"]]);
    assert.deepEqual(
      banned.map((k) => [k.affiliation, k.reason]),
      Array(3).fill(["outcast", "spam"]),
    );
    const again = await join(carol, room, "Carol");
    assert.equal(errorCondition(again.self), "forbidden");
    const list = await iq(
      bob,
      "ol",
      `<iq type='get' id='ol' to='${room}'><query xmlns='${NS_MUC_ADMIN}'><item affiliation='outcast'/></query></iq>`,
    );
    const items = list.getChild("query", NS_MUC_ADMIN)!.getChildren("item");
    assert.deepEqual(items.map((i) => [i.attrs.jid, i.getChildText("reason")]), [[
      "carol@localhost",
      "spam",
    ]]);
    // Unbanned while away: told with 101.
    r = await admin(alice, room, `<item jid='carol@localhost' affiliation='none'/>`);
    assert.equal(r.attrs.type, "result");
    const note = await carol.stanza((e) => e.name === "message" && e.attrs.from === room);
    assert.deepEqual(statusCodes(note), ["101"]);

    // Role lists are for moderators; a participant gets forbidden.
    const mods = await iq(
      alice,
      "ml",
      `<iq type='get' id='ml' to='${room}'><query xmlns='${NS_MUC_ADMIN}'><item role='moderator'/></query></iq>`,
    );
    assert.equal(mods.attrs.type, "result", mods.toString());
    assert.deepEqual(
      mods.getChild("query", NS_MUC_ADMIN)!.getChildren("item").map((i) => i.attrs.nick).sort(),
      [
        "Alice",
        "Bob",
      ],
    );

    // Owner transfer (§10.3, §10.4): Bob becomes owner, Alice steps down to member.
    r = await admin(alice, room, `<item jid='bob@localhost' affiliation='owner'/>`);
    assert.equal(r.attrs.type, "result");
    seen = await seenBy([alice, bob], "Bob");
    assert.deepEqual(
      seen.map((v) => [v.role, v.affiliation]),
      Array(2).fill(["moderator", "owner"]),
    );
    r = await admin(alice, room, `<item jid='alice@localhost' affiliation='member'/>`);
    assert.equal(r.attrs.type, "result");
    seen = await seenBy([alice, bob], "Alice");
    assert.deepEqual(
      seen.map((v) => [v.role, v.affiliation]),
      Array(2).fill(["participant", "member"]),
    );
    const owners = await iq(
      bob,
      "own",
      `<iq type='get' id='own' to='${room}'><query xmlns='${NS_MUC_ADMIN}'><item affiliation='owner'/></query></iq>`,
    );
    assert.deepEqual(
      owners.getChild("query", NS_MUC_ADMIN)!.getChildren("item").map((i) => i.attrs.jid),
      [
        "bob@localhost",
      ],
    );
    // Alice, a member now, may not configure the room nor change roles.
    const cfg = await iq(
      alice,
      "cf",
      `<iq type='get' id='cf' to='${room}'><query xmlns='${NS_MUC_OWNER}'/></iq>`,
    );
    assert.equal(errorCondition(cfg), "forbidden");
    r = await admin(alice, room, `<item nick='Bob' role='visitor'/>`);
    assert.equal(errorCondition(r), "forbidden");

    // Moderator by role (§9.6): granted by an owner to a member.
    r = await admin(bob, room, `<item nick='Alice' role='moderator'/>`);
    assert.equal(r.attrs.type, "result");
    seen = await seenBy([alice, bob], "Alice");
    assert.deepEqual(
      seen.map((v) => [v.role, v.affiliation]),
      Array(2).fill(["moderator", "member"]),
    );

    // The last owner cannot leave the room without one (§10.9 conflict).
    r = await admin(bob, room, `<item jid='bob@localhost' affiliation='admin'/>`);
    assert.equal(errorCondition(r), "conflict");

    // Destroy (§10.9) with an alternate venue and a reason.
    const d = await iq(
      bob,
      "ds",
      `<iq type='set' id='ds' to='${room}'><query xmlns='${NS_MUC_OWNER}'><destroy jid='new@${MUC}'><reason>moved</reason></destroy></query></iq>`,
    );
    assert.equal(d.attrs.type, "result");
    for (const [client, nick] of [[alice, "Alice"], [bob, "Bob"]] as const) {
      const gone = await presenceFrom(client, `${room}/${nick}`, "unavailable");
      const destroy = gone.getChild("x", NS_MUC_USER)!.getChild("destroy")!;
      assert.equal(destroy.attrs.jid, `new@${MUC}`);
      assert.equal(destroy.getChildText("reason"), "moved");
    }
    const info = await iq(
      alice,
      "di",
      `<iq type='get' id='di' to='${room}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
    );
    assert.equal(errorCondition(info), "item-not-found");
  } finally {
    for (const c of [alice, bob, carol]) c.close();
    await server.stop();
  }
});
