import assert from "node:assert/strict";
import { errorCondition as condition, hostFeatures, iq, TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const PASSWORDS: Record<string, string> = { alice: "wonderland", bob: "builder" };

function login(server: TestServer, user: string, resource = "r") {
  return TestClient.login({
    port: server.ports.c2s,
    user,
    password: PASSWORDS[user],
    resource,
    presence: false,
  });
}

const q = (inner: string) => `<query xmlns='jabber:iq:private'>${inner}</query>`;

Deno.test("private: store and read back by name and namespace, across sessions", async () => {
  const server = await startTestServer();
  try {
    const a1 = await login(server, "alice", "one");
    // Nothing stored: the requested element comes back empty.
    const empty = await iq(
      a1,
      "g0",
      `<iq type='get' id='g0'>${q("<prefs xmlns='ex:prefs'/>")}</iq>`,
    );
    assert.equal(empty.attrs.type, "result");
    assert.equal(
      empty.getChild("query", "jabber:iq:private")?.toString(),
      q("<prefs xmlns='ex:prefs'/>"),
    );

    const prefs =
      "<prefs xmlns='ex:prefs'><nick>Alice</nick><x a='&lt;1&gt;'>t &amp; u</x></prefs>";
    const other = "<other xmlns='ex:prefs'><v>2</v></other>";
    const set = await iq(a1, "s1", `<iq type='set' id='s1'>${q(prefs + other)}</iq>`);
    assert.equal(set.attrs.type, "result", set.toString());

    // Another session of the same account reads exactly what was stored,
    // each element under its own name (same namespace, two keys).
    const a2 = await login(server, "alice", "two");
    const got = await iq(a2, "g1", `<iq type='get' id='g1'>${q("<prefs xmlns='ex:prefs'/>")}</iq>`);
    assert.equal(got.getChild("query", "jabber:iq:private")?.toString(), q(prefs));
    const got2 = await iq(
      a2,
      "g2",
      `<iq type='get' id='g2' to='alice@localhost'>${q("<other xmlns='ex:prefs'/>")}</iq>`,
    );
    assert.equal(got2.attrs.type, "result");
    assert.equal(got2.getChild("query", "jabber:iq:private")?.toString(), q(other));
    // Same name, other namespace: a different item.
    const diff = await iq(
      a2,
      "g3",
      `<iq type='get' id='g3'>${q("<prefs xmlns='ex:other'/>")}</iq>`,
    );
    assert.equal(
      diff.getChild("query", "jabber:iq:private")?.toString(),
      q("<prefs xmlns='ex:other'/>"),
    );

    // Bob has his own storage.
    const bob = await login(server, "bob");
    const bobs = await iq(
      bob,
      "b1",
      `<iq type='get' id='b1'>${q("<prefs xmlns='ex:prefs'/>")}</iq>`,
    );
    assert.equal(
      bobs.getChild("query", "jabber:iq:private")?.toString(),
      q("<prefs xmlns='ex:prefs'/>"),
    );
    for (const c of [a1, a2, bob]) c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("private: XEP-0048 bookmarks (storage:bookmarks) round-trip", async () => {
  const server = await startTestServer();
  try {
    const alice = await login(server, "alice");
    const storage = "<storage xmlns='storage:bookmarks'>" +
      "<conference name='Council' autojoin='true' jid='council@conference.example.org'>" +
      "<nick>alice</nick></conference><url name='Site' url='https://example.org/'/></storage>";
    const set = await iq(alice, "b1", `<iq type='set' id='b1'>${q(storage)}</iq>`);
    assert.equal(set.attrs.type, "result");
    const got = await iq(
      alice,
      "b2",
      `<iq type='get' id='b2'>${q("<storage xmlns='storage:bookmarks'/>")}</iq>`,
    );
    const back = got.getChild("query", "jabber:iq:private")?.getChild(
      "storage",
      "storage:bookmarks",
    );
    assert.equal(back?.toString(), storage);
    assert.equal(back?.getChild("conference")?.attrs.jid, "council@conference.example.org");
    // Clearing bookmarks stores an empty element; reading gives it back empty.
    await iq(
      alice,
      "b3",
      `<iq type='set' id='b3'>${q("<storage xmlns='storage:bookmarks'/>")}</iq>`,
    );
    const cleared = await iq(
      alice,
      "b4",
      `<iq type='get' id='b4'>${q("<storage xmlns='storage:bookmarks'/>")}</iq>`,
    );
    assert.equal(
      cleared.getChild("query", "jabber:iq:private")?.toString(),
      q("<storage xmlns='storage:bookmarks'/>"),
    );
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("private: another user's data is forbidden; reserved and missing namespaces refused", async () => {
  const server = await startTestServer();
  try {
    const alice = await login(server, "alice");
    const bob = await login(server, "bob");
    await iq(bob, "s0", `<iq type='set' id='s0'>${q("<secret xmlns='ex:s'>b</secret>")}</iq>`);

    const get = await iq(
      alice,
      "o1",
      `<iq type='get' id='o1' to='bob@localhost'>${q("<secret xmlns='ex:s'/>")}</iq>`,
    );
    assert.equal(get.attrs.type, "error");
    assert.equal(condition(get), "forbidden");
    assert.equal(get.getChild("query", "jabber:iq:private"), undefined, "nothing of bob's leaks");
    const set = await iq(
      alice,
      "o2",
      `<iq type='set' id='o2' to='bob@localhost'>${q("<secret xmlns='ex:s'>a</secret>")}</iq>`,
    );
    assert.equal(condition(set), "forbidden");
    const mine = await iq(bob, "s1", `<iq type='get' id='s1'>${q("<secret xmlns='ex:s'/>")}</iq>`);
    assert.equal(mine.getChild("query", "jabber:iq:private")?.getChildText("secret", "ex:s"), "b");

    for (
      const [id, inner] of [
        ["r1", "<message xmlns='jabber:client'/>"],
        ["r2", "<x xmlns='jabber:server'/>"],
        ["r3", "<query xmlns='jabber:iq:private'/>"],
        ["r4", "<nons>inherits jabber:iq:private</nons>"],
        ["r5", ""],
      ]
    ) {
      for (const type of ["set", "get"]) {
        const r = await iq(
          alice,
          id + type,
          `<iq type='${type}' id='${id + type}'>${q(inner)}</iq>`,
        );
        assert.equal(r.attrs.type, "error", `${type} ${inner}`);
        assert.equal(condition(r), "not-acceptable", `${type} ${inner}`);
      }
    }
    // A refused set with a valid element beside a reserved one stores nothing.
    const mixed = await iq(
      alice,
      "m1",
      `<iq type='set' id='m1'>${q("<ok xmlns='ex:ok'>1</ok><x xmlns='jabber:client'/>")}</iq>`,
    );
    assert.equal(condition(mixed), "not-acceptable");
    const ok = await iq(alice, "m2", `<iq type='get' id='m2'>${q("<ok xmlns='ex:ok'/>")}</iq>`);
    assert.equal(ok.getChild("query", "jabber:iq:private")?.toString(), q("<ok xmlns='ex:ok'/>"));
    alice.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("private: an element over privateStorage.maxBytes is refused; advertised in disco", async () => {
  const server = await startTestServer({ privateStorage: { maxBytes: 1024 } });
  try {
    const alice = await login(server, "alice");
    const big = `<big xmlns='ex:big'>${"z".repeat(1100)}</big>`;
    const refused = await iq(alice, "l1", `<iq type='set' id='l1'>${q(big)}</iq>`);
    assert.equal(refused.attrs.type, "error");
    assert.equal(condition(refused), "not-acceptable");
    const none = await iq(alice, "l2", `<iq type='get' id='l2'>${q("<big xmlns='ex:big'/>")}</iq>`);
    assert.equal(
      none.getChild("query", "jabber:iq:private")?.toString(),
      q("<big xmlns='ex:big'/>"),
    );
    const small = `<big xmlns='ex:big'>${"z".repeat(900)}</big>`;
    assert.equal(
      (await iq(alice, "l3", `<iq type='set' id='l3'>${q(small)}</iq>`)).attrs.type,
      "result",
    );

    const features = await hostFeatures(alice);
    assert.ok(features?.includes("jabber:iq:private"), String(features));
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("private: privateStorage.maxItems caps the items of one user; removing one frees a slot", async () => {
  const server = await startTestServer({ privateStorage: { maxItems: 2 } });
  try {
    const alice = await login(server, "alice");
    const set = async (id: string, inner: string) =>
      await iq(alice, id, `<iq type='set' id='${id}'>${q(inner)}</iq>`);
    assert.equal((await set("a", "<a xmlns='ex:a'>1</a>")).attrs.type, "result");
    assert.equal((await set("b", "<b xmlns='ex:b'>1</b>")).attrs.type, "result");
    // Overwriting an existing item is always fine; a third one is refused.
    assert.equal((await set("b2", "<b xmlns='ex:b'>2</b>")).attrs.type, "result");
    assert.equal(condition(await set("c", "<c xmlns='ex:c'>1</c>")), "not-acceptable");
    // An empty element removes an item, so the third one fits now.
    assert.equal((await set("a0", "<a xmlns='ex:a'/>")).attrs.type, "result");
    assert.equal((await set("c2", "<c xmlns='ex:c'>1</c>")).attrs.type, "result");
    alice.close();
  } finally {
    await server.stop();
  }
});
