/**
 * Message archive (XEP-0313) over real sockets: archiving both ways,
 * stanza ids (XEP-0359), filters, errors, preferences, metadata.
 */
import assert from "node:assert/strict";
import { errorCondition, iq } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { failingArchive } from "../helpers/failing_storage.ts";
import {
  archiveOf,
  login,
  mamQuery,
  NS_MAM,
  NS_SID,
  queryXml,
  seed,
  stanzaId,
  startWithAliceAndBob,
} from "../helpers/mam.ts";

const chat = (to: string, body: string, extra = "", id = body) =>
  `<message to='${to}' type='chat' id='${id}'><body>${body}</body>${extra}</message>`;

/** Poll (bounded) until `user` has `n` archived messages. */
async function untilArchived(server: TestServer, user: string, n: number) {
  const deadline = Date.now() + 5000;
  while (await archiveOf(server).count(user) !== n) {
    if (Date.now() > deadline) throw new Error(`expected ${n} archived for ${user}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("mam: both directions archived; stanza-id stamped, forged ones stripped, origin-id kept", async () => {
  const { server, alice, bob } = await startWithAliceAndBob();
  try {
    // The account advertises the archive and stanza ids.
    const info = await iq(
      alice,
      "d1",
      `<iq type='get' id='d1' to='alice@localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
    );
    const features = info.getChild("query", "http://jabber.org/protocol/disco#info")!
      .getChildren("feature").map((f) => f.attrs.var);
    for (const f of [NS_MAM, NS_MAM + "#extended", NS_SID]) assert.ok(features.includes(f), f);

    // alice -> bob with a forged stanza-id claiming to be bob's archive, one
    // claiming alice's (her own archive id is the server's to choose), and her origin-id.
    alice.send(chat(
      "bob@localhost",
      "hello",
      `<stanza-id xmlns='${NS_SID}' by='bob@localhost' id='forged'/>` +
        `<stanza-id xmlns='${NS_SID}' by='alice@localhost' id='forged2'/>` +
        `<origin-id xmlns='${NS_SID}' id='origin-1'/>`,
    ));
    const got = await bob.stanza((e) => e.name === "message" && e.getChildText("body") === "hello");
    const ids = got.getChildren("stanza-id", NS_SID);
    assert.equal(ids.length, 1, "only bob's own stanza-id: " + got.toString());
    assert.equal(ids[0].attrs.by, "bob@localhost");
    assert.notEqual(ids[0].attrs.id, "forged");
    assert.equal(got.getChild("origin-id", NS_SID)?.attrs.id, "origin-1");

    bob.send(chat("alice@localhost/a", "hi back"));
    const back = await alice.stanza((e) => e.getChildText("body") === "hi back");
    const aliceId = stanzaId(back, "alice@localhost");
    assert.ok(aliceId);

    await untilArchived(server, "alice", 2);
    await untilArchived(server, "bob", 2);
    // Alice's archive: her sent message and the reply, in order; the ids match the stanza-ids.
    const a = await mamQuery(alice);
    assert.deepEqual(a.bodies, ["hello", "hi back"]);
    assert.equal(a.ids[1], aliceId);
    assert.equal(a.complete, true);
    assert.equal(a.count, 2);
    assert.equal(a.iq.attrs.type, "result");
    const fwd = a.results[0].getChild("forwarded", "urn:xmpp:forward:0")!;
    assert.ok(fwd.getChild("delay", "urn:xmpp:delay")?.attrs.stamp);
    const stored = fwd.getChild("message", "jabber:client")!;
    assert.equal(stored.attrs.to, "bob@localhost");
    assert.equal(stored.attrs.from, "alice@localhost/a");
    assert.equal(stored.getChild("origin-id", NS_SID)?.attrs.id, "origin-1");
    // Her archive copy is what she sent, without an id of her own archive in it.
    assert.equal(stanzaId(stored, "alice@localhost"), undefined, stored.toString());
    // Bob's archive: the same conversation, his ids.
    const b = await mamQuery(bob);
    assert.deepEqual(b.bodies, ["hello", "hi back"]);
    assert.equal(b.ids[0], stanzaId(got, "bob@localhost"));
    // Results come from the archive (the account's bare JID) to the querying resource.
    const msg = await mamQuery(bob, { rsm: "<max>1</max>" });
    assert.equal(msg.results.length, 1);
    assert.equal(msg.complete, false);
  } finally {
    alice.close();
    bob.close();
    await server.stop();
  }
});

Deno.test("mam: what is not archived (chat states, hints, groupchat, headline, errors)", async () => {
  const { server, alice, bob } = await startWithAliceAndBob();
  try {
    const cs = `<composing xmlns='http://jabber.org/protocol/chatstates'/>`;
    alice.send(`<message to='bob@localhost' type='chat' id='cs'>${cs}</message>`);
    alice.send(chat("bob@localhost", "nostore", `<no-store xmlns='urn:xmpp:hints'/>`));
    alice.send(chat("bob@localhost", "noperm", `<no-permanent-store xmlns='urn:xmpp:hints'/>`));
    alice.send(`<message to='bob@localhost' type='headline' id='h'><body>news</body></message>`);
    alice.send(`<message to='bob@localhost' type='groupchat' id='gc'><body>g</body></message>`);
    alice.send(`<message to='bob@localhost' type='error' id='er'><body>e</body></message>`);
    alice.send(
      `<message to='bob@localhost' type='chat' id='st'>${cs}<store xmlns='urn:xmpp:hints'/></message>`,
    );
    alice.send(
      `<message to='bob@localhost' type='chat' id='rc'><received xmlns='urn:xmpp:receipts' id='x'/></message>`,
    );
    alice.send(chat("bob@localhost", "last"));
    await bob.stanza((e) => e.getChildText("body") === "last");
    // The chat state alone and the hinted/headline ones were delivered unstamped.
    await untilArchived(server, "bob", 3);
    const r = await mamQuery(bob);
    assert.deepEqual(
      r.results.map((x) =>
        x.getChild("forwarded", "urn:xmpp:forward:0")!
          .getChild("message", "jabber:client")!.attrs.id
      ),
      ["st", "rc", "last"],
    );
    assert.equal(await archiveOf(server).count("alice"), 3);
  } finally {
    alice.close();
    bob.close();
    await server.stop();
  }
});

Deno.test("mam: the sender's stanza-id does not reach the contact", async () => {
  const { server, alice, bob } = await startWithAliceAndBob({ mam: { default: "never" } });
  try {
    // Alice archives (always), bob does not (never by default here).
    await iq(
      alice,
      "p1",
      `<iq type='set' id='p1'><prefs xmlns='${NS_MAM}' default='always'/></iq>`,
    );
    alice.send(chat("bob@localhost", "x1"));
    const got = await bob.stanza((e) => e.getChildText("body") === "x1");
    assert.equal(got.getChildren("stanza-id", NS_SID).length, 0, got.toString());
    await untilArchived(server, "alice", 1);
    assert.equal(await archiveOf(server).count("bob"), 0);
  } finally {
    alice.close();
    bob.close();
    await server.stop();
  }
});

for (const driver of ["memory", "sqlite"]) {
  Deno.test(`mam: filters by with and by time, ids, before-id/after-id, flip-page (${driver})`, () =>
    filters(driver));
}

async function filters(driver: string) {
  // Fixed dates long past: no retention, or the first sweep after start could remove them.
  const server = await startTestServer({ storage: { driver }, mam: { retentionDays: 0 } });
  const base = Date.parse("2026-01-01T00:00:00Z");
  // 10 with bob (m0..m9 at base+0..9 ms), then 10 with carol (cm0..cm9, a day later).
  await seed(server, "alice", 10, { base });
  await seed(server, "alice", 10, {
    base: base + 86_400_000,
    withJid: "carol@example.org",
    prefix: "c",
  });
  const alice = await login(server, "alice", "a");
  try {
    const withBob = await mamQuery(alice, { fields: { with: "bob@localhost" } });
    assert.deepEqual(withBob.ids, [...Array(10).keys()].map((i) => `m${i}`));
    assert.equal(withBob.count, 10);
    // A full JID matches by its bare JID.
    const full = await mamQuery(alice, { fields: { with: "carol@example.org/phone" } });
    assert.equal(full.count, 10);
    assert.equal(full.first, "cm0");

    // start/end: inclusive; the first day only; then only the second.
    const day1 = await mamQuery(alice, {
      fields: { start: "2026-01-01T00:00:00Z", end: "2026-01-01T00:00:00.004Z" },
    });
    assert.deepEqual(day1.ids, ["m0", "m1", "m2", "m3", "m4"]);
    const day2 = await mamQuery(alice, { fields: { start: "2026-01-01T12:00:00+00:00" } });
    assert.equal(day2.count, 10);
    assert.equal(day2.first, "cm0");
    assert.equal(day2.last, "cm9");

    // ids: in archive order, whatever order asked.
    const byIds = await mamQuery(alice, { fields: { ids: ["cm3", "m7", "m1"] } });
    assert.deepEqual(byIds.ids, ["m1", "m7", "cm3"]);
    assert.equal(byIds.complete, true);

    // Between two known messages.
    const between = await mamQuery(alice, { fields: { "after-id": "m6", "before-id": "cm1" } });
    assert.deepEqual(between.ids, ["m7", "m8", "m9", "cm0"]);
    // before-id with RSM paging backwards inside it.
    const lastTwo = await mamQuery(alice, {
      fields: { "before-id": "m5" },
      rsm: "<max>2</max><before/>",
    });
    assert.deepEqual(lastTwo.ids, ["m3", "m4"]);
    assert.equal(lastTwo.count, 5);
    assert.equal(lastTwo.firstIndex, "3");
    assert.equal(lastTwo.complete, false);
    // after-id together with RSM after: the later bound wins.
    const both = await mamQuery(alice, {
      fields: { "after-id": "m2", with: "bob@localhost" },
      rsm: "<max>3</max><after>m5</after>",
    });
    assert.deepEqual(both.ids, ["m6", "m7", "m8"]);
    assert.equal(both.firstIndex, "3");
    assert.equal(both.count, 7);

    // flip-page: same page, sent newest first; first/last still in archive order.
    const flipped = await mamQuery(alice, { rsm: "<max>3</max><before/>", flip: true });
    assert.deepEqual(flipped.ids, ["cm9", "cm8", "cm7"]);
    assert.equal(flipped.first, "cm7");
    assert.equal(flipped.last, "cm9");
    assert.equal(flipped.firstIndex, "17");
  } finally {
    alice.close();
    await server.stop();
  }
}

for (const driver of ["memory", "sqlite"]) {
  Deno.test(`mam: errors — unknown ids, bad forms, other archives; the form and metadata (${driver})`, () =>
    errors(driver));
}

async function errors(driver: string) {
  const server = await startTestServer({ storage: { driver }, mam: { retentionDays: 0 } });
  const base = Date.parse("2026-02-01T00:00:00Z");
  const alice = await login(server, "alice", "a");
  try {
    // Metadata of an empty archive, then of a seeded one.
    const empty = await iq(
      alice,
      "md0",
      `<iq type='get' id='md0'><metadata xmlns='${NS_MAM}'/></iq>`,
    );
    assert.equal(empty.getChild("metadata", NS_MAM)?.getChildren().length, 0);
    await seed(server, "alice", 3, { base });
    const md = await iq(alice, "md1", `<iq type='get' id='md1'><metadata xmlns='${NS_MAM}'/></iq>`);
    const meta = md.getChild("metadata", NS_MAM)!;
    assert.equal(meta.getChild("start")?.attrs.id, "m0");
    assert.equal(meta.getChild("start")?.attrs.timestamp, "2026-02-01T00:00:00.000Z");
    assert.equal(meta.getChild("end")?.attrs.id, "m2");

    const fails = async (o: Parameters<typeof mamQuery>[1], condition: string) => {
      const r = await mamQuery(alice, o);
      assert.equal(r.iq.attrs.type, "error", JSON.stringify(o));
      assert.equal(errorCondition(r.iq), condition, JSON.stringify(o));
      assert.equal(r.results.length, 0);
    };
    await fails({ fields: { ids: ["m1", "nope"] } }, "item-not-found");
    await fails({ fields: { "after-id": "nope" } }, "item-not-found");
    await fails({ fields: { "before-id": "nope" } }, "item-not-found");
    await fails({ rsm: "<after>nope</after>" }, "item-not-found");
    await fails({ rsm: "<before>nope</before>" }, "item-not-found");
    await fails({ fields: { start: "yesterday" } }, "bad-request");
    await fails({ fields: { with: "@@bad" } }, "bad-request");
    await fails(
      { fields: { start: ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"] } },
      "bad-request",
    );
    await fails({ fields: { "{urn:x}search": "x" } }, "feature-not-implemented");
    await fails({ rsm: "<max>-1</max>" }, "bad-request");
    await fails({ rsm: "<max>99999999999999</max>" }, "bad-request");
    await fails({ rsm: "<after>m0</after><before>m2</before>" }, "bad-request");
    await fails({ fields: { ids: Array.from({ length: 251 }, (_, i) => `x${i}`) } }, "bad-request");
    await fails({ fields: { ids: ["x".repeat(300)] } }, "bad-request");
    // queryid bounded.
    const longQ = await iq(alice, "lq", queryXml("lq", "q".repeat(300)));
    assert.equal(errorCondition(longQ), "bad-request");
    // A wrong FORM_TYPE.
    const wrong = await iq(
      alice,
      "ft",
      `<iq type='set' id='ft'><query xmlns='${NS_MAM}'><x xmlns='jabber:x:data' type='submit'>` +
        `<field var='FORM_TYPE'><value>urn:other</value></field></x></query></iq>`,
    );
    assert.equal(errorCondition(wrong), "bad-request");
    // Another user's archive.
    const other = await mamQuery(alice, { to: "bob@localhost" });
    assert.equal(errorCondition(other.iq), "forbidden");
    // max is capped by the server.
    const capped = await mamQuery(alice, { rsm: "<max>100000</max>" });
    assert.equal(capped.results.length, 3);
    // max 0: the count only.
    const counted = await mamQuery(alice, { rsm: "<max>0</max>" });
    assert.equal(counted.results.length, 0);
    assert.equal(counted.count, 3);
    assert.equal(counted.first, undefined);

    // The form, with the extended fields and no required ones.
    const form = await iq(alice, "f", `<iq type='get' id='f'><query xmlns='${NS_MAM}'/></iq>`);
    const vars = form.getChild("query", NS_MAM)!.getChild("x", "jabber:x:data")!
      .getChildren("field").map((f) => f.attrs.var);
    assert.deepEqual(vars, ["FORM_TYPE", "with", "start", "end", "before-id", "after-id", "ids"]);
    assert.ok(!form.toString().includes("<required"));
  } finally {
    alice.close();
    await server.stop();
  }
}

Deno.test("mam: preferences never, always, roster", async () => {
  const server = await startTestServer({}, {
    alice: "wonderland",
    bob: "builder",
    carol: "builder",
  });
  const alice = await login(server, "alice", "a");
  const bob = await login(server, "bob", "b");
  const carol = await login(server, "carol", "c");
  try {
    const get = await iq(alice, "g", `<iq type='get' id='g'><prefs xmlns='${NS_MAM}'/></iq>`);
    assert.equal(get.getChild("prefs", NS_MAM)?.attrs.default, "always");
    // Never bob; default always.
    const set = await iq(
      alice,
      "s",
      `<iq type='set' id='s'><prefs xmlns='${NS_MAM}' default='always'>` +
        `<always/><never><jid>bob@localhost</jid></never></prefs></iq>`,
    );
    assert.equal(set.attrs.type, "result");
    assert.equal(
      set.getChild("prefs", NS_MAM)?.getChild("never")?.getChildText("jid"),
      "bob@localhost",
    );
    bob.send(chat("alice@localhost", "from-bob"));
    carol.send(chat("alice@localhost", "from-carol"));
    const fb = await alice.stanza((e) => e.getChildText("body") === "from-bob");
    assert.equal(stanzaId(fb, "alice@localhost"), undefined);
    const fc = await alice.stanza((e) => e.getChildText("body") === "from-carol");
    assert.ok(stanzaId(fc, "alice@localhost"));
    // Never by default, always carol; alice's own sent messages follow the same rule.
    await iq(
      alice,
      "s2",
      `<iq type='set' id='s2'><prefs xmlns='${NS_MAM}' default='never'>` +
        `<always><jid>carol@localhost</jid></always><never/></prefs></iq>`,
    );
    alice.send(chat("bob@localhost", "to-bob"));
    alice.send(chat("carol@localhost", "to-carol"));
    await carol.stanza((e) => e.getChildText("body") === "to-carol");
    // Roster: only contacts.
    await iq(
      alice,
      "r1",
      `<iq type='set' id='r1'><query xmlns='jabber:iq:roster'><item jid='bob@localhost'/></query></iq>`,
    );
    await iq(
      alice,
      "s3",
      `<iq type='set' id='s3'><prefs xmlns='${NS_MAM}' default='roster'/></iq>`,
    );
    bob.send(chat("alice@localhost", "roster-bob"));
    carol.send(chat("alice@localhost", "roster-carol"));
    await alice.stanza((e) => e.getChildText("body") === "roster-bob");
    await alice.stanza((e) => e.getChildText("body") === "roster-carol");
    await untilArchived(server, "alice", 3);
    const r = await mamQuery(alice);
    assert.deepEqual(r.bodies, ["from-carol", "to-carol", "roster-bob"]);
    // A bad default is refused.
    const bad = await iq(
      alice,
      "s4",
      `<iq type='set' id='s4'><prefs xmlns='${NS_MAM}' default='sometimes'/></iq>`,
    );
    assert.equal(errorCondition(bad), "bad-request");
  } finally {
    alice.close();
    bob.close();
    carol.close();
    await server.stop();
  }
});

Deno.test("mam: a failing archive costs no message: it is delivered, unarchived", async () => {
  // Every call on the message archive fails (a broken database, a full disk).
  const { server, alice, bob } = await startWithAliceAndBob({}, {
    storage: failingArchive("archive"),
  });
  try {
    for (const body of ["one", "two"]) {
      alice.send(chat("bob@localhost", body));
      const got = await bob.stanza((e) => e.name === "message");
      assert.equal(got.getChildText("body"), body);
      // No archive, so no archive id.
      assert.equal(stanzaId(got, "bob@localhost"), undefined);
    }
  } finally {
    alice.close();
    bob.close();
    await server.stop();
  }
});
