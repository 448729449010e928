/**
 * The room archive: history on join narrowed by maxstanzas, maxchars,
 * seconds and since; MAM on the room JID (paging, `with` an occupant);
 * message moderation (XEP-0425) turning a message into a tombstone.
 */
import assert from "node:assert/strict";
import type { TestClient } from "../helpers/client.ts";
import { errorCondition, iq } from "../helpers/client.ts";
import { mamQuery, NS_SID } from "../helpers/mam.ts";
import { createRoom, join, MUC, startMucWith } from "../helpers/muc.ts";

const room = `hist@${MUC}`;

async function say(c: TestClient, body: string): Promise<string> {
  c.send(`<message to='${room}' type='groupchat'><body>${body}</body></message>`);
  const echo = await c.stanza((e) => e.name === "message" && e.getChildText("body") === body);
  return echo.getChild("stanza-id", NS_SID)!.attrs.id;
}

async function leave(c: TestClient, nick: string) {
  c.send(`<presence to='${room}/${nick}' type='unavailable'/>`);
  await c.stanza((e) =>
    e.name === "presence" && e.attrs.from === `${room}/${nick}` && e.attrs.type === "unavailable"
  );
}

Deno.test("muc: history on join, MAM on the room, moderation", async () => {
  const { server, alice, bob } = await startMucWith(["alice", "bob"]);
  try {
    await createRoom(alice, room, "Alice");
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) ids.push(await say(alice, `m${i}`));

    let j = await join(bob, room, "Bob");
    assert.deepEqual(j.history.map((m) => m.getChildText("body")), ["m1", "m2", "m3", "m4", "m5"]);
    const delay = j.history[0].getChild("delay", "urn:xmpp:delay")!;
    assert.equal(delay.attrs.from, room);
    assert.equal(j.history[0].attrs.from, `${room}/Alice`);
    await leave(bob, "Bob");

    j = await join(bob, room, "Bob", "<history maxstanzas='2'/>");
    assert.deepEqual(j.history.map((m) => m.getChildText("body")), ["m4", "m5"]);
    await leave(bob, "Bob");
    j = await join(bob, room, "Bob", "<history maxchars='0'/>");
    assert.deepEqual(j.history, []);
    await leave(bob, "Bob");
    j = await join(
      bob,
      room,
      "Bob",
      `<history since='${new Date(Date.now() + 60_000).toISOString()}'/>`,
    );
    assert.deepEqual(j.history, []);
    await leave(bob, "Bob");
    j = await join(bob, room, "Bob", "<history seconds='3600'/>");
    assert.equal(j.history.length, 5);
    // maxchars: whole stanzas only, as many of the latest as fit.
    const one = j.history[4].toString().length;
    await leave(bob, "Bob");
    j = await join(bob, room, "Bob", `<history maxchars='${one * 2 + 5}'/>`);
    assert.deepEqual(j.history.map((m) => m.getChildText("body")), ["m4", "m5"]);

    // MAM: the last page of two, then the page before it.
    let page = await mamQuery(bob, { to: room, rsm: "<max>2</max><before/>" });
    assert.equal(page.iq.attrs.type, "result");
    assert.deepEqual(page.bodies, ["m4", "m5"]);
    assert.deepEqual(page.ids, ids.slice(3));
    assert.equal(page.count, 5);
    page = await mamQuery(bob, { to: room, rsm: `<max>2</max><before>${page.first}</before>` });
    assert.deepEqual(page.bodies, ["m2", "m3"]);
    await say(bob, "from bob");
    page = await mamQuery(bob, { to: room, fields: { with: `${room}/Bob` } });
    assert.deepEqual(page.bodies, ["from bob"]);

    // Moderation: only moderators; the message becomes a tombstone everywhere.
    const notMod = await iq(
      bob,
      "mod0",
      `<iq type='set' id='mod0' to='${room}'><moderate xmlns='urn:xmpp:message-moderate:1' id='${
        ids[1]
      }'><retract xmlns='urn:xmpp:message-retract:1'/></moderate></iq>`,
    );
    assert.equal(errorCondition(notMod), "forbidden");
    const mod = await iq(
      alice,
      "mod1",
      `<iq type='set' id='mod1' to='${room}'><moderate xmlns='urn:xmpp:message-moderate:1' id='${
        ids[1]
      }'><retract xmlns='urn:xmpp:message-retract:1'/><reason>off topic</reason></moderate></iq>`,
    );
    assert.equal(mod.attrs.type, "result");
    for (const c of [alice, bob]) {
      const m = await c.stanza((e) =>
        e.name === "message" && e.getChild("retract", "urn:xmpp:message-retract:1") !== undefined
      );
      const retract = m.getChild("retract", "urn:xmpp:message-retract:1")!;
      assert.equal(retract.attrs.id, ids[1]);
      assert.equal(
        retract.getChild("moderated", "urn:xmpp:message-moderate:1")!.attrs.by,
        `${room}/Alice`,
      );
      assert.equal(retract.getChildText("reason"), "off topic");
      assert.equal(m.attrs.from, room);
    }
    page = await mamQuery(bob, { to: room, rsm: "<max>3</max>" });
    assert.deepEqual(page.bodies, ["m1", "", "m3"]);
    assert.equal(page.ids[1], ids[1]);
    await leave(bob, "Bob");
    j = await join(bob, room, "Bob");
    assert.deepEqual(j.history.map((m) => m.getChildText("body")), [
      "m1",
      "m3",
      "m4",
      "m5",
      "from bob",
    ]);
  } finally {
    alice.close();
    bob.close();
    await server.stop();
  }
});
