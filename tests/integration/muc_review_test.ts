/**
 * Review fixes of the MUC service: reserved nicks enforced when so
 * configured, rooms per user bounded, the room archive under the
 * retention period, which bounces take an occupant out, invitations
 * bounded by the message rate, and the config fields clients use.
 */
import assert from "node:assert/strict";
import { errorCondition, iq } from "../helpers/client.ts";
import type { TestClient } from "../helpers/client.ts";
import {
  admin,
  aliceAndBobIn,
  configure,
  createRoom,
  join,
  login,
  MUC,
  mucItem,
  presenceFrom,
  registerNick,
  roomFeatures,
  startMucServer,
  statusCodes,
  withMuc,
} from "../helpers/muc.ts";
import { mamQuery, NS_SID } from "../helpers/mam.ts";

Deno.test("muc: enforceReservedNicks keeps a registered user to the reserved nick", () =>
  withMuc(["alice", "carol"], async ({ alice, carol }) => {
    const room = `reserved@${MUC}`;
    await createRoom(alice, room, "Alice");
    assert.equal((await registerNick(carol, room, "r1", "Caz")).attrs.type, "result");
    // Another nick: refused while the reserved one is free.
    let j = await join(carol, room, "Carol");
    assert.equal(errorCondition(j.self), "not-acceptable");
    j = await join(carol, room, "Caz");
    assert.equal(mucItem(j.self)!.attrs.affiliation, "member");
    await presenceFrom(alice, `${room}/Caz`);
    // Nor may she change away from it.
    carol.send(`<presence to='${room}/Other'/>`);
    const err = await carol.stanza((e) => e.name === "presence" && e.attrs.type === "error");
    assert.equal(errorCondition(err), "not-acceptable");
    assert.equal(err.attrs.from, `${room}/Other`);
    // Users without a reservation pick any free nick.
    alice.send(`<presence to='${room}/Al'/>`);
    const moved = await presenceFrom(alice, `${room}/Al`);
    assert.ok(statusCodes(moved).includes("110"));
  }, {
    muc: { enforceReservedNicks: true },
  }));

Deno.test("muc: maxRoomsPerUser bounds the rooms one user owns, admins exempt", async () => {
  const server = await startMucServer({
    admins: ["dave@localhost"],
    muc: { maxRoomsPerUser: 2 },
  });
  const alice = await login(server, "alice");
  const dave = await login(server, "dave");
  try {
    await createRoom(alice, `a1@${MUC}`, "Alice");
    await createRoom(alice, `a2@${MUC}`, "Alice");
    const third = await join(alice, `a3@${MUC}`, "Alice");
    assert.equal(errorCondition(third.self), "resource-constraint");
    // Joining rooms someone else owns is not creating.
    await createRoom(dave, `d1@${MUC}`, "Dave");
    await createRoom(dave, `d2@${MUC}`, "Dave");
    await createRoom(dave, `d3@${MUC}`, "Dave");
    const j = await join(alice, `d3@${MUC}`, "Alice");
    assert.ok(statusCodes(j.self).includes("110"));
    // Leaving a temporary room she owns (it goes away) frees a place.
    alice.send(`<presence to='a1@${MUC}/Alice' type='unavailable'/>`);
    await presenceFrom(alice, `a1@${MUC}/Alice`, "unavailable");
    await createRoom(alice, `a4@${MUC}`, "Alice");
  } finally {
    alice.close();
    dave.close();
    await server.stop();
  }
});

Deno.test("muc: room archives follow mam.retentionDays", async () => {
  const server = await startMucServer({ mam: { retentionDays: 1 } });
  const alice = await login(server, "alice");
  const room = `kept@${MUC}`;
  try {
    await createRoom(alice, room, "Alice", { persistentroom: "1" });
    const archive = server.storage.archive(MUC, "muc_archive");
    const old = Date.now() - 2 * 86_400_000;
    for (const id of ["o1", "o2"]) {
      await archive.append("kept", {
        id,
        when: old,
        with: `${room}/Alice`,
        value:
          `<message type='groupchat' from='${room}/Alice' id='${id}'><body>${id}</body></message>`,
      });
    }
    alice.send(`<message to='${room}' type='groupchat' id='fresh'><body>fresh</body></message>`);
    await alice.stanza((e) => e.attrs.id === "fresh" && e.attrs.type === "groupchat");
    const ev: { expired?: number } = {};
    assert.equal(await server.hosts.get(MUC)!.events.fire("mam/expire", ev), true);
    assert.equal(ev.expired, 2);
    const left = await archive.find("kept");
    assert.equal(left.length, 1);
    assert.match(String(left[0].value), /fresh/);
  } finally {
    alice.close();
    await server.stop();
  }
});

Deno.test("muc: a bounced message takes a session out only when it cannot receive", () =>
  withMuc(["alice", "bob"], async ({ alice, bob }) => {
    const room = `bounce@${MUC}`;
    const STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
    await aliceAndBobIn(alice, bob, room);
    // A client refusing one message (to the sender's occupant JID and to the room): still in.
    bob.send(
      `<message to='${room}/Alice' type='error' id='m1'><error type='modify'><not-acceptable xmlns='${STANZAS}'/></error></message>`,
    );
    bob.send(
      `<message to='${room}' type='error' id='m2'><error type='cancel'><feature-not-implemented xmlns='${STANZAS}'/></error></message>`,
    );
    alice.send(`<message to='${room}' type='groupchat' id='still'><body>still?</body></message>`);
    const got = await bob.stanza((e) => e.attrs.id === "still");
    assert.equal(got.attrs.from, `${room}/Alice`);
    await alice.nothing((e) => e.name === "presence" && e.attrs.type === "unavailable");
    // A session that is gone: out, 333.
    bob.send(
      `<message to='${room}/Alice' type='error' id='m3'><error type='cancel'><recipient-unavailable xmlns='${STANZAS}'/></error></message>`,
    );
    const out = await presenceFrom(alice, `${room}/Bob`, "unavailable");
    assert.deepEqual(statusCodes(out), ["333"]);
  }));

Deno.test("muc: invitations cost the inviter's rate; declines go only to an inviter", () =>
  withMuc(["alice", "bob", "carol"], async ({ alice, bob, carol }) => {
    const room = `invites@${MUC}`;
    const USER = "http://jabber.org/protocol/muc#user";
    await createRoom(alice, room, "Alice");
    // Four invitations with a burst of three: refused whole.
    const many = ["a", "b", "c", "d"].map((u) => `<invite to='${u}@example.org'/>`).join("");
    alice.send(`<message to='${room}' id='many'><x xmlns='${USER}'>${many}</x></message>`);
    const refused = await alice.stanza((e) => e.attrs.id === "many");
    assert.equal(errorCondition(refused), "resource-constraint");
    // A decline nobody asked for is not relayed to carol.
    bob.send(
      `<message to='${room}'><x xmlns='${USER}'><decline to='carol@localhost'><reason>spam</reason></decline></x></message>`,
    );
    // One invitation goes out; its decline comes back once.
    alice.send(
      `<message to='${room}'><x xmlns='${USER}'><invite to='bob@localhost'/></x></message>`,
    );
    await bob.stanza((e) => e.name === "message" && e.attrs.from === room);
    const decline =
      `<message to='${room}'><x xmlns='${USER}'><decline to='alice@localhost'/></x></message>`;
    bob.send(decline);
    const back = await alice.stanza((e) => e.name === "message" && e.attrs.from === room);
    assert.equal(back.getChild("x", USER)!.getChild("decline")!.attrs.from, "bob@localhost");
    bob.send(decline);
    await alice.nothing((e) => e.name === "message" && e.attrs.from === room);
    await carol.nothing((e) => e.name === "message" && e.attrs.from === room);
  }, {
    muc: { messagesPerSecond: 0.001, messageBurst: 3 },
  }));

Deno.test("muc: muc#roomconfig_enablelogging (XEP-0045's name) switches the archive", async () => {
  const server = await startMucServer();
  const alice = await login(server, "alice");
  const room = `logging@${MUC}`;
  try {
    await createRoom(alice, room, "Alice");
    await configure(alice, room, { enablelogging: "0" });
    const changed = await alice.stanza((e) =>
      e.name === "message" && statusCodes(e).includes("104")
    );
    assert.ok(statusCodes(changed).includes("171"));
    const features = await roomFeatures(alice, room);
    assert.ok(!features.includes("urn:xmpp:mam:2"));
  } finally {
    alice.close();
    await server.stop();
  }
});

Deno.test("muc: destroy tells each occupant of its own leaving only, affiliation none", () =>
  withMuc(["alice", "bob"], async ({ alice, bob }) => {
    const room = `doomed@${MUC}`;
    await aliceAndBobIn(alice, bob, room);
    const d = await iq(
      alice,
      "ds",
      `<iq type='set' id='ds' to='${room}'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy><reason>done</reason></destroy></query></iq>`,
    );
    assert.equal(d.attrs.type, "result");
    for (const [c, nick, other] of [[alice, "Alice", "Bob"], [bob, "Bob", "Alice"]] as const) {
      const gone = await presenceFrom(c, `${room}/${nick}`, "unavailable");
      assert.equal(mucItem(gone)!.attrs.affiliation, "none");
      assert.equal(mucItem(gone)!.attrs.role, "none");
      assert.equal(
        gone.getChild("x", "http://jabber.org/protocol/muc#user")!.getChild("destroy")!
          .getChildText("reason"),
        "done",
      );
      await c.nothing((e) => e.name === "presence" && e.attrs.from === `${room}/${other}`);
    }
  }));

Deno.test("muc: leaving and rejoining in a loop is held to the occupant's rate", () =>
  withMuc(["alice", "bob"], async ({ alice, bob }) => {
    const room = `loop@${MUC}`;
    await createRoom(alice, room, "Alice");
    const refused: string[] = [];
    for (let i = 0; i < 4; i++) {
      const j = await join(bob, room, "Bob");
      if (j.self.attrs.type === "error") {
        refused.push(errorCondition(j.self)!);
        break;
      }
      bob.send(`<presence to='${room}/Bob' type='unavailable'/>`);
      await presenceFrom(bob, `${room}/Bob`, "unavailable");
    }
    // The first join is free, two rejoins spend the burst, the third is refused.
    assert.deepEqual(refused, ["resource-constraint"]);
  }, {
    muc: { messagesPerSecond: 0.001, messageBurst: 2 },
  }));

Deno.test("muc: 100 comes with the join to a non-anonymous room, not with later updates", () =>
  withMuc(["alice", "bob"], async ({ alice, bob }) => {
    const room = `open@${MUC}`;
    await createRoom(alice, room, "Alice", { whois: "anyone" });
    const j = await join(bob, room, "Bob");
    assert.deepEqual(statusCodes(j.self).sort(), ["100", "110", "170"]);
    assert.equal(mucItem(j.self)!.attrs.jid, "bob@localhost/r");
    bob.send(`<presence to='${room}/Bob'><show>away</show></presence>`);
    const update = await bob.stanza((e) =>
      e.name === "presence" && e.attrs.from === `${room}/Bob` && e.getChildText("show") === "away"
    );
    assert.deepEqual(statusCodes(update), ["110"]);
  }));

Deno.test("muc: disco#info carries what Conversations and Gajim read", async () => {
  const server = await startMucServer();
  const alice = await login(server, "alice");
  const room = `info@${MUC}`;
  const DISCO = "http://jabber.org/protocol/disco#info";
  try {
    await createRoom(alice, room, "Alice", { allowpm: "moderators", changesubject: "1" });
    const info = await iq(
      alice,
      "di",
      `<iq type='get' id='di' to='${room}'><query xmlns='${DISCO}'/></iq>`,
    );
    const query = info.getChild("query", DISCO)!;
    const features = query.getChildren("feature").map((f) => f.attrs.var);
    assert.ok(features.includes("http://jabber.org/protocol/muc#stable_id"));
    const fields = new Map(
      query.getChild("x", "jabber:x:data")!.getChildren("field").map((
        f,
      ) => [f.attrs.var, f.getChildText("value")]),
    );
    assert.equal(fields.get("muc#roomconfig_allowpm"), "moderators");
    assert.equal(fields.get("muc#roominfo_changesubject"), "1");
    assert.equal(fields.get("muc#roominfo_occupants"), "1");
  } finally {
    alice.close();
    await server.stop();
  }
});

Deno.test("muc: reactions and retractions are archived with a stanza-id; chat states are not", () =>
  withMuc(["alice", "bob"], async ({ alice, bob }) => {
    const room = `react@${MUC}`;
    await createRoom(alice, room, "Alice");
    const send = async (id: string, payload: string) => {
      alice.send(`<message to='${room}' type='groupchat' id='${id}'>${payload}</message>`);
      return await alice.stanza((e) => e.attrs.id === id && e.attrs.type === "groupchat");
    };
    const m1 = await send("m1", "<body>one</body>");
    const sid = m1.getChild("stanza-id", NS_SID)!.attrs.id;
    const reaction = await send(
      "r1",
      `<reactions xmlns='urn:xmpp:reactions:0' id='${sid}'><reaction>+1</reaction></reactions>`,
    );
    assert.ok(reaction.getChild("stanza-id", NS_SID));
    const state = await send("c1", "<active xmlns='http://jabber.org/protocol/chatstates'/>");
    assert.equal(state.getChild("stanza-id", NS_SID), undefined);
    const hinted = await send(
      "h1",
      "<body>off the record</body><no-store xmlns='urn:xmpp:hints'/>",
    );
    assert.equal(hinted.getChild("stanza-id", NS_SID), undefined);
    await send("m2", "<body>two</body>");
    // History on join: bodies only.
    const j = await join(bob, room, "Bob");
    assert.deepEqual(j.history.map((m) => m.getChildText("body")), ["one", "two"]);
    // MAM: the reaction too.
    const page = await mamQuery(bob, { to: room });
    assert.equal(page.results.length, 3);
  }));

Deno.test("muc: the subject sent on join carries its setter's occupant id", () =>
  withMuc(["alice", "bob"], async ({ alice, bob }) => {
    const room = `topic@${MUC}`;
    const OID = "urn:xmpp:occupant-id:0";
    await createRoom(alice, room, "Alice");
    alice.send(`<message to='${room}' type='groupchat' id='s1'><subject>News</subject></message>`);
    const set = await alice.stanza((e) => e.attrs.id === "s1" && e.attrs.type === "groupchat");
    const id = set.getChild("occupant-id", OID)!.attrs.id;
    const j = await join(bob, room, "Bob");
    assert.equal(j.subject.getChildText("subject"), "News");
    assert.equal(j.subject.attrs.from, `${room}/Alice`);
    assert.equal(j.subject.getChild("occupant-id", OID)?.attrs.id, id);
  }));

Deno.test("muc: members of a private group read the member, admin and owner lists", () =>
  withMuc(["alice", "bob"], async ({ alice, bob }) => {
    const room = `group@${MUC}`;
    const ADMIN = "http://jabber.org/protocol/muc#admin";
    const list = (c: TestClient, id: string, affiliation: string) =>
      iq(
        c,
        id,
        `<iq type='get' id='${id}' to='${room}'><query xmlns='${ADMIN}'><item affiliation='${affiliation}'/></query></iq>`,
      );
    await createRoom(alice, room, "Alice", { membersonly: "1", whois: "anyone" });
    const r = await admin(alice, room, `<item jid='bob@localhost' affiliation='member'/>`);
    assert.equal(r.attrs.type, "result");
    const owners = await list(bob, "lo", "owner");
    assert.deepEqual(
      owners.getChild("query", ADMIN)!.getChildren("item").map((i) => i.attrs.jid),
      ["alice@localhost"],
    );
    assert.equal((await list(bob, "la", "admin")).attrs.type, "result");
    assert.equal((await list(bob, "lm", "member")).attrs.type, "result");
    assert.equal(errorCondition(await list(bob, "lx", "outcast")), "forbidden");
    // Semi-anonymous: the member list only.
    await configure(alice, room, { whois: "moderators" });
    assert.equal(errorCondition(await list(bob, "lo2", "owner")), "forbidden");
  }));

Deno.test("muc: occupants of a non-anonymous room learn of affiliation changes of users not in the room", () =>
  withMuc(["alice", "bob", "carol"], async ({ alice, bob, carol }) => {
    const room = `members@${MUC}`;
    const USER = "http://jabber.org/protocol/muc#user";
    await createRoom(alice, room, "Alice", { membersonly: "1", whois: "anyone" });
    assert.equal(
      (await admin(alice, room, `<item jid='bob@localhost' affiliation='member'/>`)).attrs.type,
      "result",
    );
    // Alice, in the room, is told of Bob's membership.
    const first = await alice.stanza((e) => e.name === "message" && e.attrs.from === room);
    assert.equal(first.getChild("x", USER)!.getChild("item")!.attrs.jid, "bob@localhost");
    await join(bob, room, "Bob");
    await presenceFrom(alice, `${room}/Bob`);
    const r = await admin(alice, room, `<item jid='carol@localhost' affiliation='member'/>`);
    assert.equal(r.attrs.type, "result");
    for (const c of [alice, bob]) {
      const note = await c.stanza((e) =>
        e.name === "message" && e.attrs.from === room &&
        e.getChild("x", USER)?.getChild("item")?.attrs.jid === "carol@localhost"
      );
      assert.ok(!statusCodes(note).includes("101"));
      const item = note.getChild("x", USER)!.getChild("item")!;
      assert.equal(item.attrs.jid, "carol@localhost");
      assert.equal(item.attrs.affiliation, "member");
    }
    // Carol, away, gets her 101.
    const told = await carol.stanza((e) => e.name === "message" && e.attrs.from === room);
    assert.ok(statusCodes(told).includes("101"));
    // A member made by a mediated invitation is announced the same way.
    alice.send(
      `<message to='${room}'><x xmlns='${USER}'><invite to='dave@localhost'/></x></message>`,
    );
    const invited = await bob.stanza((e) =>
      e.name === "message" && e.attrs.from === room &&
      e.getChild("x", USER)?.getChild("item")?.attrs.jid === "dave@localhost"
    );
    assert.equal(invited.getChild("x", USER)!.getChild("item")!.attrs.affiliation, "member");
  }));

Deno.test("muc: a moderation announcement is archived under the stanza id it carries", async () => {
  const server = await startMucServer();
  const alice = await login(server, "alice");
  const room = `mod@${MUC}`;
  try {
    await createRoom(alice, room, "Alice");
    alice.send(`<message to='${room}' type='groupchat' id='m1'><body>oops</body></message>`);
    const m1 = await alice.stanza((e) => e.attrs.id === "m1" && e.attrs.type === "groupchat");
    const sid = m1.getChild("stanza-id", NS_SID)!.attrs.id;
    const r = await iq(
      alice,
      "mod",
      `<iq type='set' id='mod' to='${room}'><moderate xmlns='urn:xmpp:message-moderate:1' id='${sid}'><retract xmlns='urn:xmpp:message-retract:1'/></moderate></iq>`,
    );
    assert.equal(r.attrs.type, "result");
    const announced = await alice.stanza((e) =>
      e.name === "message" && e.getChild("retract", "urn:xmpp:message-retract:1") !== undefined
    );
    const last = announced.getChild("stanza-id", NS_SID)!.attrs.id;
    // Catching up after the last id seen: known to the archive, nothing newer.
    const after = await mamQuery(alice, { to: room, rsm: `<after>${last}</after>` });
    assert.equal(after.iq.attrs.type, "result");
    assert.equal(after.results.length, 0);
    // Catching up after the moderated message: the retraction itself.
    const since = await mamQuery(alice, { to: room, rsm: `<after>${sid}</after>` });
    assert.deepEqual(since.ids, [last]);
  } finally {
    alice.close();
    await server.stop();
  }
});

Deno.test("muc: a join from a session already in the room gets the whole join again", () =>
  withMuc(["alice", "bob"], async ({ alice, bob }) => {
    const room = `again@${MUC}`;
    await createRoom(alice, room, "Alice");
    alice.send(`<message to='${room}' type='groupchat' id='h1'><body>before</body></message>`);
    await alice.stanza((e) => e.attrs.id === "h1" && e.attrs.type === "groupchat");
    await join(bob, room, "Bob");
    await presenceFrom(alice, `${room}/Bob`);
    const again = await join(bob, room, "Bob");
    assert.deepEqual(again.before.map((p) => p.attrs.from), [`${room}/Alice`]);
    assert.ok(statusCodes(again.self).includes("110"));
    assert.deepEqual(again.history.map((m) => m.getChildText("body")), ["before"]);
    assert.ok(again.subject);
    // Alice sees Bob's presence again, nobody leaves.
    const seen = await presenceFrom(alice, `${room}/Bob`);
    assert.ok(!statusCodes(seen).includes("110"));
  }));
