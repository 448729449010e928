/**
 * MUC against hostile occupants: nicks that only look different (the
 * room prepares them as RFC 6122 Resourceprep does, so they collide),
 * forged muc#user payloads, members-only and moderation bypasses,
 * archives read without the password.
 */
import assert from "node:assert/strict";
import { errorCondition, iq } from "../helpers/client.ts";
import type { TestClient } from "../helpers/client.ts";
import type { Element } from "../../src/xml/element.ts";
import { mamQuery } from "../helpers/mam.ts";
import {
  admin,
  aliceAndBobIn,
  createRoom,
  join,
  MUC,
  mucItem,
  NS_MUC_USER,
  presenceFrom,
  registerNick,
  roomFeatures,
  statusCodes,
  withMuc,
} from "../helpers/muc.ts";

/** Join as `nick` and return the answer: the self-presence (110) or an error presence. */
async function joinRaw(c: TestClient, room: string, nick: string): Promise<Element> {
  c.send(`<presence to='${room}/${nick}'><x xmlns='http://jabber.org/protocol/muc'/></presence>`);
  return await c.stanza((e) =>
    e.name === "presence" &&
    (e.attrs.type === "error" || statusCodes(e).includes("110"))
  );
}

Deno.test("muc: nicks that prepare to the same string collide; invisible and bidi tricks refused", () =>
  withMuc(["alice", "bob", "carol"], async ({ alice, bob, carol }) => {
    const room = `spoof@${MUC}`;
    await aliceAndBobIn(alice, bob, room);
    // Fullwidth, soft hyphen, zero-width space, a variation selector: all "Alice".
    for (const nick of ["\uff21lice", "Ali\u00adce", "Ali\u200bce", "Alice\ufe0f"]) {
      const r = await joinRaw(carol, room, nick);
      assert.equal(r.attrs.type, "error", `joined as ${JSON.stringify(nick)}`);
      assert.equal(errorCondition(r), "conflict", JSON.stringify(nick));
    }
    // Right-to-left override (shows "Alice" reversed), only spaces: not nicks at all.
    for (const nick of ["\u202eecilA", "   "]) {
      const r = await joinRaw(carol, room, nick);
      assert.equal(errorCondition(r), "jid-malformed", JSON.stringify(nick));
    }
    // A fullwidth nick is given its prepared form, with 210.
    const self = await joinRaw(carol, room, "\uff23arol");
    assert.equal(self.attrs.type, undefined);
    assert.equal(self.attrs.from, `${room}/Carol`);
    assert.ok(statusCodes(self).includes("210"));
    await presenceFrom(alice, `${room}/Carol`);
    await presenceFrom(bob, `${room}/Carol`);
    // A private message to a look-alike reaches the occupant it prepares to.
    carol.send(`<message to='${room}/Ali\u00adce' type='chat'><body>psst</body></message>`);
    const pm = await alice.stanza((e) => e.name === "message" && e.getChildText("body") === "psst");
    assert.equal(pm.attrs.from, `${room}/Carol`);
    // Changing to a look-alike of a nick in use: conflict.
    carol.send(`<presence to='${room}/B\u200bob'/>`);
    const err = await carol.stanza((e) => e.name === "presence" && e.attrs.type === "error");
    assert.equal(errorCondition(err), "conflict");
    // A nick change the room prepares differently carries 210 (§7.6).
    carol.send(`<presence to='${room}/\uff23az'/>`);
    const out = await presenceFrom(carol, `${room}/Carol`, "unavailable");
    assert.equal(mucItem(out)!.attrs.nick, "Caz");
    const moved = await presenceFrom(carol, `${room}/Caz`);
    assert.ok(statusCodes(moved).includes("110"));
    assert.ok(statusCodes(moved).includes("210"));
  }));

Deno.test("muc: muc#user payloads occupants put in messages and private messages are the room's to give", () =>
  withMuc(["alice", "bob"], async ({ alice, bob }) => {
    const room = `forged@${MUC}`;
    const forged = `<x xmlns='${NS_MUC_USER}'><status code='110'/><status code='201'/>` +
      `<item affiliation='owner' role='moderator' jid='alice@localhost/r'/>` +
      `<invite from='admin@localhost'><reason>trust me</reason></invite></x>`;
    await aliceAndBobIn(alice, bob, room);
    bob.send(`<message to='${room}' type='groupchat'><body>hi</body>${forged}</message>`);
    const gc = await alice.stanza((e) => e.name === "message" && e.getChildText("body") === "hi");
    assert.equal(gc.attrs.from, `${room}/Bob`);
    assert.equal(gc.getChild("x", NS_MUC_USER), undefined);
    bob.send(`<message to='${room}/Alice' type='chat'><body>pm</body>${forged}</message>`);
    const pm = await alice.stanza((e) => e.name === "message" && e.getChildText("body") === "pm");
    const xs = pm.getChildren("x", NS_MUC_USER);
    assert.equal(xs.length, 1);
    assert.equal(xs[0].children.length, 0);
  }));

Deno.test("muc: registering does not let a stranger into a members-only room nor give voice in a moderated one", () =>
  withMuc(["alice", "carol"], async ({ alice, carol }) => {
    const closed = `closed@${MUC}`;
    const quiet = `quiet@${MUC}`;
    await createRoom(alice, closed, "Alice", { membersonly: "1" });
    assert.equal(
      errorCondition(await registerNick(carol, closed, "r1", "Caz")),
      "registration-required",
    );
    assert.equal(errorCondition((await join(carol, closed, "Caz")).self), "registration-required");
    // A member may reserve a nick.
    assert.equal(
      (await admin(alice, closed, `<item affiliation='member' jid='carol@localhost'/>`)).attrs.type,
      "result",
    );
    assert.equal((await registerNick(carol, closed, "r2", "Caz")).attrs.type, "result");

    await createRoom(alice, quiet, "Alice", { moderatedroom: "1" });
    const j = await join(carol, quiet, "Carol");
    assert.equal(mucItem(j.self)!.attrs.role, "visitor");
    assert.equal(
      errorCondition(await registerNick(carol, quiet, "r3", "Carol")),
      "registration-required",
    );
    carol.send(`<presence to='${quiet}/Carol' type='unavailable'/>`);
    await presenceFrom(carol, `${quiet}/Carol`, "unavailable");
    const again = await join(carol, quiet, "Carol");
    assert.equal(mucItem(again.self)!.attrs.role, "visitor");
  }));

Deno.test("muc: the archive of a password-protected room is for those in it, not anyone who asks", () =>
  withMuc(["alice", "carol"], async ({ alice, carol }) => {
    const room = `locked@${MUC}`;
    await createRoom(alice, room, "Alice", { passwordprotectedroom: "1", roomsecret: "sesame" });
    alice.send(`<message to='${room}' type='groupchat'><body>the plan</body></message>`);
    await alice.stanza((e) => e.getChildText("body") === "the plan");
    const stranger = await mamQuery(carol, { to: room });
    assert.equal(errorCondition(stranger.iq), "forbidden");
    assert.deepEqual(stranger.bodies, []);
    // With the password, in the room: the archive is hers to read.
    const j = await join(carol, room, "Carol", "<password>sesame</password>");
    assert.equal(j.self.attrs.type, undefined);
    const inside = await mamQuery(carol, { to: room });
    assert.equal(inside.iq.attrs.type, "result");
    assert.deepEqual(inside.bodies, ["the plan"]);
  }));

Deno.test("muc: an admin or owner banning themselves is conflict (§9.1), even with another owner", () =>
  withMuc(["alice", "bob"], async ({ alice, bob }) => {
    const room = `selfban@${MUC}`;
    await aliceAndBobIn(alice, bob, room);
    assert.equal(
      (await admin(alice, room, `<item affiliation='owner' jid='bob@localhost'/>`)).attrs.type,
      "result",
    );
    const r = await admin(alice, room, `<item affiliation='outcast' jid='alice@localhost'/>`);
    assert.equal(errorCondition(r), "conflict");
    assert.equal(
      (await admin(bob, room, `<item affiliation='admin' jid='alice@localhost'/>`)).attrs.type,
      "result",
    );
    const a = await admin(alice, room, `<item affiliation='outcast' jid='alice@localhost'/>`);
    assert.equal(errorCondition(a), "conflict");
  }));

Deno.test("muc: a moderator may not kick or silence a user of higher affiliation (§8.2, §8.4)", () =>
  withMuc(["alice", "bob", "carol", "dave"], async ({ alice, bob, carol, dave }) => {
    const room = `ranks@${MUC}`;
    await aliceAndBobIn(alice, bob, room);
    assert.equal(
      (await admin(alice, room, `<item affiliation='member' jid='bob@localhost'/>`)).attrs.type,
      "result",
    );
    await join(carol, room, "Carol");
    await join(dave, room, "Dave");
    // Carol, without affiliation, is made moderator by role.
    assert.equal(
      (await admin(alice, room, `<item nick='Carol' role='moderator'/>`)).attrs.type,
      "result",
    );
    assert.equal(
      errorCondition(await admin(carol, room, `<item nick='Bob' role='none'/>`)),
      "not-allowed",
    );
    assert.equal(
      errorCondition(await admin(carol, room, `<item nick='Bob' role='visitor'/>`)),
      "not-allowed",
    );
    // Dave has no affiliation either: hers to kick.
    assert.equal(
      (await admin(carol, room, `<item nick='Dave' role='none'/>`)).attrs.type,
      "result",
    );
    const out = await presenceFrom(dave, `${room}/Dave`, "unavailable");
    assert.ok(statusCodes(out).includes("307"));
  }));

Deno.test("muc: admin requests from those without the right are forbidden before anything is looked up", () =>
  withMuc(["alice", "bob"], async ({ alice, bob }) => {
    const room = `probe@${MUC}`;
    await aliceAndBobIn(alice, bob, room);
    // A participant learns nothing of who is or is not there (§8: forbidden).
    assert.equal(
      errorCondition(await admin(bob, room, `<item nick='Nobody' role='none'/>`)),
      "forbidden",
    );
    assert.equal(
      errorCondition(await admin(bob, room, `<item nick='Nobody' affiliation='outcast'/>`)),
      "forbidden",
    );
  }));

Deno.test("muc: banning a domain keeps out its users, unless they hold an affiliation of their own", () =>
  withMuc(["alice", "bob", "carol"], async ({ alice, bob, carol }) => {
    const room = `domainban@${MUC}`;
    await aliceAndBobIn(alice, bob, room);
    assert.equal(
      (await admin(alice, room, `<item affiliation='member' jid='bob@localhost'/>`)).attrs.type,
      "result",
    );
    await join(carol, room, "Carol");
    await presenceFrom(alice, `${room}/Carol`);
    assert.equal(
      (await admin(alice, room, `<item affiliation='outcast' jid='localhost'/>`)).attrs.type,
      "result",
    );
    // Carol, a user of that domain without affiliation, is out (301); bob, a member, stays.
    const out = await presenceFrom(carol, `${room}/Carol`, "unavailable");
    assert.ok(statusCodes(out).includes("301"));
    assert.equal(errorCondition((await join(carol, room, "Carol")).self), "forbidden");
    bob.send(`<message to='${room}' type='groupchat'><body>still here</body></message>`);
    await alice.stanza((e) => e.getChildText("body") === "still here");
  }));

Deno.test("muc: a private message cannot carry a stanza-id claiming to be the room's", () =>
  withMuc(["alice", "bob"], async ({ alice, bob }) => {
    const room = `sid@${MUC}`;
    await aliceAndBobIn(alice, bob, room);
    alice.send(`<message to='${room}' type='groupchat'><body>real</body></message>`);
    const real = await bob.stanza((e) => e.getChildText("body") === "real");
    const id = real.getChild("stanza-id", "urn:xmpp:sid:0")!.attrs.id;
    // Bob dresses a PM as that room message (a client deduplicating by id would drop or replace it).
    bob.send(
      `<message to='${room}/Alice' type='chat'><body>fake</body>` +
        `<stanza-id xmlns='urn:xmpp:sid:0' id='${id}' by='${room}'/></message>`,
    );
    const pm = await alice.stanza((e) => e.getChildText("body") === "fake");
    const ids = pm.getChildren("stanza-id", "urn:xmpp:sid:0").filter((s) => s.attrs.by === room);
    assert.deepEqual(ids, []);
  }));

Deno.test("muc: a configuration form with a value that is no boolean is refused, not read as false", () =>
  withMuc(["alice"], async ({ alice }) => {
    const room = `cfgbad@${MUC}`;
    await createRoom(alice, room, "Alice");
    const submit = (id: string, fields: string) =>
      iq(
        alice,
        id,
        `<iq type='set' id='${id}' to='${room}'><query xmlns='http://jabber.org/protocol/muc#owner'>` +
          `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>` +
          `${fields}</x></query></iq>`,
      );
    const field = (k: string, v: string) =>
      `<field var='muc#roomconfig_${k}'><value>${v}</value></field>`;
    assert.equal((await submit("c1", field("membersonly", "1"))).attrs.type, "result");
    // "yes" is no XEP-0004 boolean: the owner meant it, the room must not open itself.
    assert.equal(errorCondition(await submit("c2", field("membersonly", "yes"))), "not-acceptable");
    const features = await roomFeatures(alice, room);
    assert.ok(features.includes("muc_membersonly"));
    for (
      const [k, v] of [["maxusers", "-3"], ["historylength", "1e3"], ["whois", "everyone"], [
        "allowpm",
        "all",
      ]]
    ) {
      assert.equal(errorCondition(await submit(`c-${k}`, field(k, v))), "not-acceptable", k);
    }
  }));

Deno.test("muc: membership gained or given up by registration is announced, and leaving a members-only room's list takes one out (321)", () =>
  withMuc(["alice", "carol"], async ({ alice, carol }) => {
    const open = `regopen@${MUC}`;
    const closed = `regclosed@${MUC}`;
    await createRoom(alice, open, "Alice");
    await join(carol, open, "Carol");
    await presenceFrom(alice, `${open}/Carol`);
    assert.equal((await registerNick(carol, open, "g1", "Carol")).attrs.type, "result");
    // §9.3: occupants see the new member.
    const now = await presenceFrom(alice, `${open}/Carol`);
    assert.equal(mucItem(now)!.attrs.affiliation, "member");

    await createRoom(alice, closed, "Alice", { membersonly: "1" });
    assert.equal(
      (await admin(alice, closed, `<item affiliation='member' jid='carol@localhost'/>`)).attrs.type,
      "result",
    );
    await join(carol, closed, "Carol");
    await presenceFrom(alice, `${closed}/Carol`);
    const removed = await iq(
      carol,
      "g2",
      `<iq type='set' id='g2' to='${closed}'><query xmlns='jabber:iq:register'><remove/></query></iq>`,
    );
    assert.equal(removed.attrs.type, "result");
    // §9.4: no longer a member of a members-only room: out, with 321.
    for (const c of [alice, carol]) {
      const out = await presenceFrom(c, `${closed}/Carol`, "unavailable");
      assert.ok(statusCodes(out).includes("321"));
    }
  }));

Deno.test("muc: a ban frees the banned user's reserved nick (§9.1)", () =>
  withMuc(["alice", "carol", "dave"], async ({ alice, carol, dave }) => {
    const room = `banfree@${MUC}`;
    await createRoom(alice, room, "Alice");
    assert.equal((await registerNick(carol, room, "b1", "Caz")).attrs.type, "result");
    assert.equal(errorCondition((await join(dave, room, "Caz")).self), "conflict");
    assert.equal(
      (await admin(alice, room, `<item affiliation='outcast' jid='carol@localhost'/>`)).attrs.type,
      "result",
    );
    const j = await join(dave, room, "Caz");
    assert.ok(statusCodes(j.self).includes("110"));
  }));

Deno.test("muc: absurd history requests on join neither fail nor exceed the room's bound", () =>
  withMuc(["alice", "bob"], async ({ alice, bob }) => {
    const room = `hist@${MUC}`;
    await createRoom(alice, room, "Alice", { historylength: "3" });
    for (let i = 0; i < 5; i++) {
      alice.send(`<message to='${room}' type='groupchat'><body>m${i}</body></message>`);
      await alice.stanza((e) => e.getChildText("body") === `m${i}`);
    }
    const cases: [string, string[]][] = [
      [`maxstanzas='-1' maxchars='99999999999999' seconds='abc' since='not a date'`, [
        "m2",
        "m3",
        "m4",
      ]],
      [`maxstanzas='999999999' seconds='999999999'`, ["m2", "m3", "m4"]],
      [`since='+275760-09-13T00:00:00Z'`, ["m2", "m3", "m4"]],
      [`since='2999-01-01T00:00:00Z'`, []],
      [`maxchars='1'`, []],
      [`maxstanzas='0'`, []],
    ];
    for (const [attrs, want] of cases) {
      const j = await join(bob, room, "Bob", `<history ${attrs}/>`);
      assert.deepEqual(j.history.map((m) => m.getChildText("body")), want, attrs);
      bob.send(`<presence to='${room}/Bob' type='unavailable'/>`);
      await presenceFrom(bob, `${room}/Bob`, "unavailable");
    }
  }));

Deno.test("muc: a room being set up answers no one but its owner, sets included", () =>
  withMuc(["alice", "carol"], async ({ alice, carol }) => {
    const room = `setup@${MUC}`;
    // Created, locked until configured (201).
    const { self } = await join(alice, room, "Alice");
    assert.ok(statusCodes(self).includes("201"));
    // Carol races to register before the owner makes it members-only.
    assert.equal(errorCondition(await registerNick(carol, room, "s1", "Caz")), "item-not-found");
    const cfg = await iq(
      alice,
      "s2",
      `<iq type='set' id='s2' to='${room}'><query xmlns='http://jabber.org/protocol/muc#owner'>` +
        `<x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_membersonly'><value>1</value></field></x></query></iq>`,
    );
    assert.equal(cfg.attrs.type, "result");
    assert.equal(errorCondition((await join(carol, room, "Caz")).self), "registration-required");
  }));

Deno.test("muc: an occupant cannot dress a message up as a moderator's retraction", () =>
  withMuc(["alice", "bob"], async ({ alice, bob }) => {
    const room = `modforge@${MUC}`;
    await aliceAndBobIn(alice, bob, room);
    alice.send(`<message to='${room}' type='groupchat'><body>mine</body></message>`);
    const mine = await bob.stanza((e) => e.getChildText("body") === "mine");
    const id = mine.getChild("stanza-id", "urn:xmpp:sid:0")!.attrs.id;
    // Bob's retraction of Alice's message, claiming a moderator did it (both forms), and a tombstone.
    bob.send(
      `<message to='${room}' type='groupchat' id='forged'>` +
        `<retract xmlns='urn:xmpp:message-retract:1' id='${id}'><moderated xmlns='urn:xmpp:message-moderate:1' by='${room}/Alice'/></retract>` +
        `<apply-to xmlns='urn:xmpp:fasten:0' id='${id}'><moderated xmlns='urn:xmpp:message-moderate:0' by='${room}/Alice'><retract xmlns='urn:xmpp:message-retract:0'/></moderated></apply-to>` +
        `<retracted xmlns='urn:xmpp:message-retract:1' stamp='2020-01-01T00:00:00Z'><moderated xmlns='urn:xmpp:message-moderate:1' by='${room}/Alice'/></retracted>` +
        `</message>`,
    );
    const got = await alice.stanza((e) => e.name === "message" && e.attrs.id === "forged");
    assert.equal(got.attrs.from, `${room}/Bob`);
    assert.equal(got.getChild("retract", "urn:xmpp:message-retract:1"), undefined);
    assert.equal(got.getChild("apply-to", "urn:xmpp:fasten:0"), undefined);
    assert.equal(got.getChild("retracted", "urn:xmpp:message-retract:1"), undefined);
    // Nothing left worth keeping: not archived either.
    const archived = await mamQuery(alice, { to: room });
    const forwarded = archived.results.map((r) =>
      r.getChild("forwarded", "urn:xmpp:forward:0")?.getChild("message", "jabber:client")?.attrs.id
    );
    assert.ok(!forwarded.includes("forged"), String(forwarded));
    // Bob's own plain retraction (XEP-0424) still passes: clients check it against the sender.
    bob.send(
      `<message to='${room}' type='groupchat' id='own'><retract xmlns='urn:xmpp:message-retract:1' id='x'/></message>`,
    );
    const own = await alice.stanza((e) => e.name === "message" && e.attrs.id === "own");
    assert.ok(own.getChild("retract", "urn:xmpp:message-retract:1"));
  }));

Deno.test("muc: role lists give moderators the occupants' full JIDs, as their presence does (§8.5, §9.8)", () =>
  withMuc(["alice", "bob"], async ({ alice, bob }) => {
    const room = `rolelist@${MUC}`;
    await aliceAndBobIn(alice, bob, room);
    const r = await iq(
      alice,
      "rl",
      `<iq type='get' id='rl' to='${room}'><query xmlns='http://jabber.org/protocol/muc#admin'><item role='participant'/></query></iq>`,
    );
    const items = r.getChild("query", "http://jabber.org/protocol/muc#admin")!.getChildren("item");
    assert.deepEqual(items.map((i) => [i.attrs.nick, i.attrs.jid]), [["Bob", "bob@localhost/r"]]);
  }));

Deno.test("muc: role items may name the occupant by JID, as the moderator list is modified (§9.8)", () =>
  withMuc(["alice", "bob"], async ({ alice, bob }) => {
    const room = `rolejid@${MUC}`;
    await aliceAndBobIn(alice, bob, room);
    const r = await admin(alice, room, `<item jid='bob@localhost/r' role='moderator'/>`);
    assert.equal(r.attrs.type, "result");
    const p = await presenceFrom(bob, `${room}/Bob`);
    assert.equal(mucItem(p)!.attrs.role, "moderator");
    const back = await admin(alice, room, `<item jid='bob@localhost' role='participant'/>`);
    assert.equal(back.attrs.type, "result");
    assert.equal(mucItem(await presenceFrom(bob, `${room}/Bob`))!.attrs.role, "participant");
    assert.equal(
      errorCondition(await admin(alice, room, `<item jid='carol@localhost' role='none'/>`)),
      "item-not-found",
    );
  }));

Deno.test("muc: presence and nick-change floods are held to the occupant's rate", () =>
  withMuc(["alice", "bob"], async ({ alice, bob }) => {
    const room = `flood@${MUC}`;
    await aliceAndBobIn(alice, bob, room);
    // Bob has a burst of three stanzas for the whole flood (a first join is free).
    for (let i = 0; i < 30; i++) bob.send(`<presence to='${room}/Bob${i}'/>`);
    for (let i = 0; i < 30; i++) {
      bob.send(`<presence to='${room}/Bob'><status>${i}</status></presence>`);
    }
    bob.send(`<message to='${room}' type='groupchat' id='probe'><body>probe</body></message>`);
    const refused = await bob.stanza((e) => e.name === "message" && e.attrs.id === "probe");
    assert.equal(errorCondition(refused), "resource-constraint");
    await alice.nothing(() => false, 300);
    const seen = alice.frames.filter((f) =>
      f.kind === "stanza" && f.element.name === "presence" &&
      f.element.attrs.from?.startsWith(room + "/Bob") === true
    );
    // At most the burst's worth of changes (each nick change is two presences).
    assert.ok(seen.length <= 2 * 3, `alice saw ${seen.length} presences`);
    // …and the burst itself did go out: the bound is the limit's, not a broadcast that never ran.
    assert.ok(seen.length >= 1, "alice saw none of Bob's changes");
  }, {
    muc: { messagesPerSecond: 0.001, messageBurst: 3 },
  }));

Deno.test("muc: wrong room passwords are limited per user; the guesser waits, others still get in", () =>
  withMuc(["alice", "bob", "carol"], async ({ alice, bob, carol }) => {
    const room = `guess@${MUC}`;
    await createRoom(alice, room, "Alice", { passwordprotectedroom: "1", roomsecret: "sesame" });
    for (let i = 0; i < 5; i++) {
      const wrong = await join(carol, room, "Carol", `<password>guess${i}</password>`);
      assert.equal(errorCondition(wrong.self), "not-authorized");
    }
    // Past the limit even the right password waits: otherwise the limit guards nothing.
    const held = await join(carol, room, "Carol", "<password>sesame</password>");
    assert.equal(errorCondition(held.self), "resource-constraint");
    const other = await join(bob, room, "Bob", "<password>sesame</password>");
    assert.equal(other.self.attrs.type, undefined);
  }));
