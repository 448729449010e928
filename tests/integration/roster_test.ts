import assert from "node:assert/strict";
import type { SubscriptionQuery } from "../../src/core/subscription.ts";
import { TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import type { Element } from "../../src/xml/element.ts";
import { NS } from "../../src/xml/namespaces.ts";

const ROSTER = "jabber:iq:roster";
const PASSWORDS: Record<string, string> = {
  alice: "wonderland",
  bob: "builder",
  carol: "c",
  dave: "d",
};

function login(server: TestServer, user: string, resource: string, presence?: string | false) {
  return TestClient.login({
    port: server.ports.c2s,
    user,
    password: PASSWORDS[user],
    resource,
    presence,
  });
}

async function rosterGet(c: TestClient, id: string, ver?: string): Promise<Element> {
  const v = ver === undefined ? "" : ` ver='${ver}'`;
  c.send(`<iq type='get' id='${id}'><query xmlns='${ROSTER}'${v}/></iq>`);
  return await c.stanza((e) => e.name === "iq" && e.attrs.id === id);
}

const isPush = (e: Element) =>
  e.name === "iq" && e.attrs.type === "set" && e.getChild("query", ROSTER) !== undefined;

function pushedItem(e: Element): Element {
  return e.getChild("query", ROSTER)!.getChild("item")!;
}

function errorOf(e: Element): string | undefined {
  return e.getChild("error")?.getChildren().find((c) => c.attrs.xmlns === NS.stanzas)?.name;
}

Deno.test("roster set, update and remove push to interested resources only", async () => {
  const server = await startTestServer();
  try {
    const r1 = await login(server, "alice", "r1");
    const r2 = await login(server, "alice", "r2");
    const r3 = await login(server, "alice", "r3"); // never fetches the roster
    const empty = await rosterGet(r1, "g1");
    assert.equal(empty.attrs.type, "result");
    assert.equal(empty.getChild("query", ROSTER)!.getChildren("item").length, 0);
    await rosterGet(r2, "g2");

    r1.send(
      `<iq type='set' id='s1'><query xmlns='${ROSTER}'><item jid='bob@localhost' name='Bob' ` +
        `subscription='both' ask='subscribe'><group>Friends</group></item></query></iq>`,
    );
    assert.equal((await r1.stanza((e) => e.attrs.id === "s1")).attrs.type, "result");
    for (const c of [r1, r2]) {
      const push = await c.stanza(isPush);
      assert.equal(push.attrs.to, c.jid);
      assert.ok(push.getChild("query", ROSTER)!.attrs.ver, "pushes carry ver");
      const item = pushedItem(push);
      assert.equal(item.attrs.jid, "bob@localhost");
      assert.equal(item.attrs.name, "Bob");
      // The client's subscription and ask are ignored.
      assert.equal(item.attrs.subscription, "none");
      assert.equal(item.attrs.ask, undefined);
      assert.deepEqual(item.getChildren("group").map((g) => g.text()), ["Friends"]);
      c.send(`<iq type='result' id='${push.attrs.id}'/>`);
    }
    await r3.nothing(isPush);

    // Update: new name, two groups.
    r2.send(
      `<iq type='set' id='s2'><query xmlns='${ROSTER}'><item jid='bob@localhost' name='Robert'>` +
        `<group>A</group><group>B</group></item></query></iq>`,
    );
    assert.equal((await r2.stanza((e) => e.attrs.id === "s2")).attrs.type, "result");
    const upd = pushedItem(await r1.stanza(isPush));
    assert.equal(upd.attrs.name, "Robert");
    assert.deepEqual(upd.getChildren("group").map((g) => g.text()), ["A", "B"]);
    await r2.stanza(isPush);

    const full = await rosterGet(r3, "g3");
    const items = full.getChild("query", ROSTER)!.getChildren("item");
    assert.equal(items.length, 1);
    assert.equal(items[0].attrs.name, "Robert");

    // Remove: a push with subscription='remove' to every interested resource, r3 now included.
    r1.send(
      `<iq type='set' id='s3'><query xmlns='${ROSTER}'><item jid='bob@localhost' ` +
        `subscription='remove'/></query></iq>`,
    );
    assert.equal((await r1.stanza((e) => e.attrs.id === "s3")).attrs.type, "result");
    for (const c of [r1, r2, r3]) {
      const item = pushedItem(await c.stanza(isPush));
      assert.equal(item.attrs.subscription, "remove");
      assert.equal(item.attrs.jid, "bob@localhost");
    }
    r1.send(
      `<iq type='set' id='s4'><query xmlns='${ROSTER}'><item jid='bob@localhost' ` +
        `subscription='remove'/></query></iq>`,
    );
    assert.equal(errorOf(await r1.stanza((e) => e.attrs.id === "s4")), "item-not-found");
    for (const c of [r1, r2, r3]) c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("roster set validation and the item limit", async () => {
  const server = await startTestServer({ roster: { maxItems: 2 } });
  try {
    const a = await login(server, "alice", "a");
    const set = async (id: string, items: string) => {
      a.send(`<iq type='set' id='${id}'><query xmlns='${ROSTER}'>${items}</query></iq>`);
      return await a.stanza((e) => e.attrs.id === id);
    };
    assert.equal(
      errorOf(await set("v1", "<item jid='x@localhost'/><item jid='y@localhost'/>")),
      "bad-request",
    );
    assert.equal(
      errorOf(await set("v2", "<item jid='x@localhost'><group>G</group><group>G</group></item>")),
      "bad-request",
    );
    assert.equal(errorOf(await set("v3", "<item jid='a@@b'/>")), "jid-malformed");
    assert.equal(errorOf(await set("v4", "<item jid='alice@localhost'/>")), "not-allowed");
    assert.equal(
      errorOf(await set("v5", "<item jid='x@localhost'><group></group></item>")),
      "not-acceptable",
    );
    assert.equal(errorOf(await set("v6", "")), "bad-request");
    assert.equal((await set("ok1", "<item jid='x@localhost'/>")).attrs.type, "result");
    assert.equal((await set("ok2", "<item jid='y@localhost'/>")).attrs.type, "result");
    assert.equal(errorOf(await set("full", "<item jid='z@localhost'/>")), "resource-constraint");
    // Updating an existing item is still allowed at the limit.
    assert.equal((await set("ok3", "<item jid='y@localhost' name='Y'/>")).attrs.type, "result");
    // Someone else's roster is not ours to read.
    a.send(`<iq type='get' id='other' to='bob@localhost'><query xmlns='${ROSTER}'/></iq>`);
    assert.equal(errorOf(await a.stanza((e) => e.attrs.id === "other")), "forbidden");
    a.close();
  } finally {
    await server.stop();
  }
});

Deno.test("roster.maxItems also bounds subscriptions: new items refused, requests dropped", async () => {
  const server = await startTestServer({ roster: { maxItems: 2 } }, PASSWORDS);
  try {
    const [alice, bob, carol, dave] = await Promise.all(
      ["alice", "bob", "carol", "dave"].map((u) => login(server, u, "r")),
    );
    await rosterGet(alice, "g0"); // interested: gets pushes
    await rosterGet(bob, "g1");
    for (const jid of ["bob@localhost", "carol@localhost"]) {
      alice.send(
        `<iq type='set' id='${jid}'><query xmlns='${ROSTER}'><item jid='${jid}'/></query></iq>`,
      );
      await alice.stanza((e) => e.attrs.id === jid && e.attrs.type === "result");
      await alice.stanza(isPush);
    }
    // alice's roster is full: a subscribe or a pre-approval that needs a
    // new item comes back as an error and is not routed.
    for (const type of ["subscribe", "subscribed"]) {
      alice.send(`<presence to='dave@localhost' type='${type}' id='${type}'/>`);
      const err = await alice.stanza((e) => e.attrs.id === type);
      assert.equal(err.attrs.type, "error");
      assert.equal(errorOf(err), "resource-constraint");
    }
    await dave.nothing((e) => e.name === "presence" && e.attrs.from === "alice@localhost", 50);
    await alice.nothing(isPush, 50);
    // An existing item may still be subscribed to.
    alice.send("<presence to='bob@localhost' type='subscribe'/>");
    assert.equal(pushedItem(await alice.stanza(isPush)).attrs.ask, "subscribe");
    await bob.stanza((e) => e.attrs.type === "subscribe" && e.attrs.from === "alice@localhost");
    // Requests for alice: her contacts' get through, strangers' are dropped.
    const requestFrom = (from: string) => (e: Element) =>
      e.name === "presence" && e.attrs.type === "subscribe" && e.attrs.from === from;
    dave.send("<presence to='alice@localhost' type='subscribe'/>");
    carol.send("<presence to='alice@localhost' type='subscribe'/>");
    await alice.stanza(requestFrom("carol@localhost"));
    await alice.nothing(requestFrom("dave@localhost"), 50);
    // bob's roster is empty, but pending requests count: alice's and
    // carol's fill it, dave's is dropped, also at the next login.
    carol.send("<presence to='bob@localhost' type='subscribe'/>");
    await bob.stanza(requestFrom("carol@localhost"));
    dave.send("<presence to='bob@localhost' type='subscribe'/>");
    await bob.nothing(requestFrom("dave@localhost"), 50);
    const bob2 = await login(server, "bob", "r2");
    await bob2.stanza(requestFrom("alice@localhost"));
    await bob2.stanza(requestFrom("carol@localhost"));
    await bob2.nothing(requestFrom("dave@localhost"), 50);
    for (const c of [alice, bob, bob2, carol, dave]) c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("roster versioning: same ver gives an empty result, a changed one the roster", async () => {
  const server = await startTestServer();
  try {
    const a = await login(server, "alice", "a");
    assert.ok(a.features?.getChild("ver", "urn:xmpp:features:rosterver"), "rosterver feature");
    assert.ok(a.features?.getChild("sub", "urn:xmpp:features:pre-approval"), "pre-approval");
    const first = await rosterGet(a, "g1", "");
    const v1 = first.getChild("query", ROSTER)!.attrs.ver;
    assert.ok(v1 !== undefined);
    const same = await rosterGet(a, "g2", v1);
    assert.equal(same.attrs.type, "result");
    assert.equal(same.children.length, 0, "unchanged roster: empty result");

    a.send(
      `<iq type='set' id='s1'><query xmlns='${ROSTER}'><item jid='bob@localhost'/></query></iq>`,
    );
    const push = await a.stanza(isPush);
    const v2 = push.getChild("query", ROSTER)!.attrs.ver;
    assert.notEqual(v2, v1);
    await a.stanza((e) => e.attrs.id === "s1");
    const changed = await rosterGet(a, "g3", v1);
    const q = changed.getChild("query", ROSTER)!;
    assert.equal(q.attrs.ver, v2);
    assert.equal(q.getChildren("item").length, 1);
    assert.equal((await rosterGet(a, "g4", v2)).children.length, 0);
    a.close();

    // Persisted: a later session sees the same roster and version.
    const again = await login(server, "alice", "b");
    const later = await rosterGet(again, "g5", v2);
    assert.equal(later.children.length, 0);
    const whole = await rosterGet(again, "g6");
    assert.equal(
      whole.getChild("query", ROSTER)!.getChildren("item")[0].attrs.jid,
      "bob@localhost",
    );
    again.close();
  } finally {
    await server.stop();
  }
});

Deno.test("two resources binding at once share one loaded roster", async () => {
  const server = await startTestServer();
  try {
    await server.storage.keyval("localhost", "roster").set("alice", {
      version: 7,
      items: [{ jid: "bob@localhost", groups: ["G"], subscription: "none" }],
      pending: {},
    });
    const [c1, c2] = await Promise.all([
      login(server, "alice", "c1"),
      login(server, "alice", "c2"),
    ]);
    const g1 = await rosterGet(c1, "g1");
    const g2 = await rosterGet(c2, "g2");
    assert.equal(g1.getChild("query", ROSTER)!.attrs.ver, "7");
    assert.equal(g2.getChild("query", ROSTER)!.attrs.ver, "7");
    // A change through one resource is seen by the other: the roster object is shared.
    c1.send(
      `<iq type='set' id='s1'><query xmlns='${ROSTER}'><item jid='carol@localhost'/></query></iq>`,
    );
    await c2.stanza(isPush);
    const g3 = await rosterGet(c2, "g3");
    assert.equal(g3.getChild("query", ROSTER)!.getChildren("item").length, 2);
    assert.equal(server.sessions.bare("localhost", "alice")!.roster !== undefined, true);
    c1.close();
    c2.close();
  } finally {
    await server.stop();
  }
});

Deno.test("roster/get-subscription answers other modules from the roster", async () => {
  const server = await startTestServer();
  try {
    await server.storage.keyval("localhost", "roster").set("alice", {
      version: 1,
      items: [{ jid: "bob@localhost", groups: [], subscription: "from" }],
      pending: {},
    });
    const host = server.hosts.get("localhost")!;
    const ask = async (contact: string) => {
      const q: SubscriptionQuery = {
        owner: "alice",
        contact,
      };
      assert.equal(await host.events.fire("roster/get-subscription", q), true);
      return q.subscription;
    };
    assert.equal(await ask("bob@localhost"), "from"); // offline: from storage
    assert.equal(await ask("carol@localhost"), "none");
    const a = await login(server, "alice", "a");
    await rosterGet(a, "g1");
    assert.equal(await ask("bob@localhost"), "from"); // online: the live roster
    a.close();
  } finally {
    await server.stop();
  }
});

Deno.test("roster: names and groups are bounded in total, so no roster grows too large to rewrite on each change", async () => {
  // Without the bound, 1000 items of ~250 KB of groups each were accepted: every
  // later change re-serialized hundreds of MB while everybody waited.
  const server = await startTestServer({ c2s: { readRateBytesPerSecond: 0 } });
  try {
    const a = await login(server, "alice", "r1", false);
    const groups = (i: number) =>
      Array.from({ length: 200 }, (_, g) => `<group>${i}-${g}-${"g".repeat(990)}</group>`).join("");
    const set = async (id: string, jid: string, body: string) => {
      a.send(
        `<iq type='set' id='${id}'><query xmlns='${ROSTER}'><item jid='${jid}'>${body}` +
          `</item></query></iq>`,
      );
      return await a.stanza((e) => e.name === "iq" && e.attrs.id === id, 10_000);
    };
    // ~203 KB each: five fit in the 1 MiB the items may take, the sixth does not.
    for (let i = 0; i < 5; i++) {
      const r = await set(`big${i}`, `c${i}@example.net`, groups(i));
      assert.equal(r.attrs.type, "result", r.toString().slice(0, 300));
    }
    const refused = await set("big5", "c5@example.net", groups(5));
    assert.equal(refused.attrs.type, "error");
    assert.equal(errorOf(refused), "resource-constraint");
    // Small changes still fit, and shrinking an item is always allowed.
    assert.equal(
      (await set("small", "d@example.net", "<group>Friends</group>")).attrs.type,
      "result",
    );
    assert.equal((await set("shrink", "c0@example.net", "")).attrs.type, "result");
    a.close();
  } finally {
    await server.stop();
  }
});
