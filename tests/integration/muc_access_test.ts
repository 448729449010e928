/**
 * Who gets in and under which nick: password-protected, members-only
 * and hidden rooms, the room size limit, who may create rooms, nick
 * changes (303) and conflicts, registration and reserved nicks, one
 * user's two sessions under one nick, and configuration changes
 * announced with 104/172/173.
 */
import assert from "node:assert/strict";
import { errorCondition, iq } from "../helpers/client.ts";
import {
  aliceAndBobIn,
  configure,
  createRoom,
  join,
  login,
  MUC,
  mucItem,
  NS_MUC,
  presenceFrom,
  startMucServer,
  startMucWith,
  statusCodes,
} from "../helpers/muc.ts";

const DISCO_ITEMS = "http://jabber.org/protocol/disco#items";

Deno.test("muc: password, members-only, hidden, size limit, creation policy", async () => {
  const { server, alice, bob } = await startMucWith(["alice", "bob"], {
    muc: { create: "admins" },
    admins: ["alice@localhost"],
  });
  try {
    // Only admins create rooms here.
    const denied = await join(bob, `mine@${MUC}`, "Bob");
    assert.equal(errorCondition(denied.self), "not-allowed");

    const secret = `secret@${MUC}`;
    await createRoom(alice, secret, "Alice", {
      passwordprotectedroom: "1",
      roomsecret: "s3cret",
      publicroom: "0",
    });
    let j = await join(bob, secret, "Bob");
    assert.equal(errorCondition(j.self), "not-authorized");
    j = await join(bob, secret, "Bob", "<password>wrong</password>");
    assert.equal(errorCondition(j.self), "not-authorized");
    j = await join(bob, secret, "Bob", "<password>s3cret</password>");
    assert.ok(statusCodes(j.self).includes("110"));
    await presenceFrom(alice, `${secret}/Bob`);

    // Hidden: not in the service's items.
    const items = await iq(
      bob,
      "it",
      `<iq type='get' id='it' to='${MUC}'><query xmlns='${DISCO_ITEMS}'/></iq>`,
    );
    assert.deepEqual(items.getChild("query", DISCO_ITEMS)!.getChildren("item"), []);

    // Size limit: maxusers 2 and the room is full for a third.
    const small = `small@${MUC}`;
    await createRoom(alice, small, "Alice", { maxusers: "1" });
    j = await join(bob, small, "Bob");
    assert.equal(errorCondition(j.self), "service-unavailable");

    // Members-only: registration-required until invited (the invitation makes a member).
    const club = `club@${MUC}`;
    await createRoom(alice, club, "Alice", { membersonly: "1" });
    j = await join(bob, club, "Bob");
    assert.equal(errorCondition(j.self), "registration-required");
    alice.send(
      `<message to='${club}'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='bob@localhost'><reason>join us</reason></invite></x></message>`,
    );
    const invite = await bob.stanza((e) => e.name === "message" && e.attrs.from === club);
    const inv = invite.getChild("x", "http://jabber.org/protocol/muc#user")!.getChild("invite")!;
    assert.equal(inv.attrs.from, "alice@localhost/r");
    assert.equal(inv.getChildText("reason"), "join us");
    j = await join(bob, club, "Bob");
    assert.equal(mucItem(j.self)!.attrs.affiliation, "member");
    // Decline, mediated back to the inviter.
    bob.send(
      `<message to='${club}'><x xmlns='http://jabber.org/protocol/muc#user'><decline to='alice@localhost'><reason>busy</reason></decline></x></message>`,
    );
    const decline = await alice.stanza((e) => e.name === "message" && e.attrs.from === club);
    const dec = decline.getChild("x", "http://jabber.org/protocol/muc#user")!.getChild("decline")!;
    assert.equal(dec.attrs.from, "bob@localhost");
    assert.equal(dec.getChildText("reason"), "busy");
    // Direct invitation (XEP-0249): a message between users, routed as is.
    alice.send(
      `<message to='bob@localhost'><x xmlns='jabber:x:conference' jid='${club}' reason='direct'/></message>`,
    );
    const direct = await bob.stanza((e) =>
      e.name === "message" && e.getChild("x", "jabber:x:conference") !== undefined &&
      e.attrs.from === "alice@localhost/r"
    );
    assert.equal(direct.getChild("x", "jabber:x:conference")!.attrs.jid, club);
  } finally {
    alice.close();
    bob.close();
    await server.stop();
  }
});

Deno.test("muc: nick change and conflict, registration, reserved nicks, two sessions one nick", async () => {
  const { server, alice, bob, carol } = await startMucWith(["alice", "bob", "carol"]);
  const bob2 = await login(server, "bob", "second");
  const room = `nicks@${MUC}`;
  try {
    await aliceAndBobIn(alice, bob, room);
    // Conflict on join.
    let j = await join(carol, room, "Bob");
    assert.equal(errorCondition(j.self), "conflict");
    // Nick change (§7.6): unavailable with 303 and the new nick, then available.
    bob.send(`<presence to='${room}/Robert'/>`);
    for (const c of [alice, bob]) {
      const out = await presenceFrom(c, `${room}/Bob`, "unavailable");
      assert.ok(statusCodes(out).includes("303"));
      assert.equal(mucItem(out)!.attrs.nick, "Robert");
      const back = await presenceFrom(c, `${room}/Robert`);
      assert.equal(mucItem(back)!.attrs.role, "participant");
    }
    // Changing to a nick in use: conflict, nothing else changes.
    bob.send(`<presence to='${room}/Alice'/>`);
    const err = await bob.stanza((e) => e.name === "presence" && e.attrs.type === "error");
    assert.equal(errorCondition(err), "conflict");
    assert.equal(err.attrs.from, `${room}/Alice`);

    // Registration: a form, then a reserved nick; nobody else may use it.
    const form = await iq(
      carol,
      "rg",
      `<iq type='get' id='rg' to='${room}'><query xmlns='jabber:iq:register'/></iq>`,
    );
    assert.ok(form.getChild("query", "jabber:iq:register")!.getChild("x", "jabber:x:data"));
    const reg = (c: typeof carol, id: string, nick: string) =>
      iq(
        c,
        id,
        `<iq type='set' id='${id}' to='${room}'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>` +
          `<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#register</value></field>` +
          `<field var='muc#register_roomnick'><value>${nick}</value></field></x></query></iq>`,
      );
    assert.equal((await reg(carol, "r1", "Caz")).attrs.type, "result");
    assert.equal(errorCondition(await reg(alice, "r2", "Caz")), "conflict");
    assert.equal(errorCondition(await reg(alice, "r3", "")), "not-acceptable");
    const mine = await iq(
      carol,
      "rg2",
      `<iq type='get' id='rg2' to='${room}'><query xmlns='jabber:iq:register'/></iq>`,
    );
    assert.equal(mine.getChild("query", "jabber:iq:register")!.getChildText("username"), "Caz");
    const nickInfo = await iq(
      carol,
      "ru",
      `<iq type='get' id='ru' to='${room}'><query xmlns='http://jabber.org/protocol/disco#info' node='x-roomuser-item'/></iq>`,
    );
    assert.equal(
      nickInfo.getChild("query", "http://jabber.org/protocol/disco#info")!.getChild("identity")!
        .attrs.name,
      "Caz",
    );
    j = await join(bob2, room, "Caz");
    assert.equal(errorCondition(j.self), "conflict");
    j = await join(carol, room, "Caz");
    assert.equal(mucItem(j.self)!.attrs.affiliation, "member");
    await presenceFrom(alice, `${room}/Caz`);
    await presenceFrom(bob, `${room}/Caz`);

    // Bob's second session joins under his nick: it shares the occupant, nobody sees a newcomer.
    j = await join(bob2, room, "Robert");
    assert.ok(statusCodes(j.self).includes("110"));
    assert.deepEqual(j.before.map((p) => p.attrs.from).sort(), [`${room}/Alice`, `${room}/Caz`]);
    await alice.nothing((e) => e.name === "presence" && e.attrs.from === `${room}/Robert`);
    alice.send(`<message to='${room}/Robert' type='chat'><body>both</body></message>`);
    await bob.stanza((e) => e.getChildText("body") === "both");
    await bob2.stanza((e) => e.getChildText("body") === "both");
    // One session leaves: the occupant stays.
    bob2.send(`<presence to='${room}/Robert' type='unavailable'/>`);
    await presenceFrom(bob2, `${room}/Robert`, "unavailable");
    await alice.nothing((e) => e.name === "presence" && e.attrs.from === `${room}/Robert`);
    alice.send(`<message to='${room}' type='groupchat'><body>still there?</body></message>`);
    await bob.stanza((e) => e.getChildText("body") === "still there?");

    // Configuration changes are announced: 104, and 172 when it becomes non-anonymous.
    await configure(alice, room, { whois: "anyone" });
    for (const c of [alice, bob, carol]) {
      const m = await c.stanza((e) =>
        e.name === "message" && e.attrs.from === room && statusCodes(e).length > 0
      );
      assert.deepEqual(statusCodes(m), ["104", "172"]);
    }
    // Everyone now sees real JIDs.
    const p = await presenceFrom(carol, `${room}/Robert`);
    assert.equal(mucItem(p)!.attrs.jid, "bob@localhost/r");
    // (Alice got everyone's presence again, with JIDs, when it changed.)
    for (let i = 0; i < 3; i++) {
      await alice.stanza((e) =>
        e.name === "presence" && e.attrs.from?.startsWith(room + "/") === true
      );
    }
    // Fully anonymous: 174, and not even the moderator sees them.
    await configure(alice, room, { whois: "none" });
    for (const c of [alice, bob, carol]) {
      const m = await c.stanza((e) =>
        e.name === "message" && e.attrs.from === room && statusCodes(e).length > 0
      );
      assert.deepEqual(statusCodes(m), ["104", "174"]);
    }
    for (let i = 0; i < 3; i++) {
      const q = await alice.stanza((e) =>
        e.name === "presence" && e.attrs.from?.startsWith(room + "/") === true
      );
      assert.equal(mucItem(q)!.attrs.jid, undefined);
    }
  } finally {
    for (const c of [alice, bob, carol, bob2]) c.close();
    await server.stop();
  }
});

Deno.test("muc: disco of the service and bad joins", async () => {
  const server = await startMucServer();
  const alice = await login(server, "alice");
  try {
    const info = await iq(
      alice,
      "si",
      `<iq type='get' id='si' to='${MUC}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
    );
    const q = info.getChild("query", "http://jabber.org/protocol/disco#info")!;
    assert.equal(q.getChild("identity")!.attrs.category, "conference");
    assert.ok(q.getChildren("feature").some((f) => f.attrs.var === NS_MUC));
    // A nick too long, and no nick at all.
    const j = await join(alice, `r@${MUC}`, "x".repeat(65));
    assert.equal(errorCondition(j.self), "jid-malformed");
    alice.send(`<presence to='r@${MUC}'><x xmlns='${NS_MUC}'/></presence>`);
    const e = await alice.stanza((s) => s.name === "presence" && s.attrs.type === "error");
    assert.equal(errorCondition(e), "jid-malformed");
    // A groupchat message from someone not in the room.
    await createRoom(alice, `r@${MUC}`, "A");
    // A nick the service prepared differently (NFC): 210 in the self-presence.
    const carol = await login(server, "carol");
    carol.send(`<presence to='r@${MUC}/Ze\u0301'><x xmlns='${NS_MUC}'/></presence>`);
    const renamed = await carol.stanza((s) =>
      s.name === "presence" && statusCodes(s).includes("110")
    );
    assert.equal(renamed.attrs.from, `r@${MUC}/Z\u00e9`);
    assert.ok(statusCodes(renamed).includes("210"));
    carol.close();
    const bob = await login(server, "bob");
    bob.send(`<message to='r@${MUC}' type='groupchat' id='x1'><body>hi</body></message>`);
    const refused = await bob.stanza((s) => s.name === "message" && s.attrs.id === "x1");
    assert.equal(errorCondition(refused), "not-acceptable");
    bob.close();
  } finally {
    alice.close();
    await server.stop();
  }
});
