/**
 * Presence between two Parley instances (a.test and b.test on 127.0.0.1,
 * dialback) beyond the subscription itself: the probe a login sends to
 * remote contacts (RFC 6121 §4.3) and the unavailable presence a logout
 * broadcasts to them (§4.5), each crossing the s2s link.
 */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { loginAt as login, serverPair as pair } from "../helpers/federation.ts";
import type { Element } from "../../src/xml/element.ts";

const ROSTER = "jabber:iq:roster";

const presenceFrom = (from: string, type?: string) => (e: Element) =>
  e.name === "presence" && e.attrs.from === from && e.attrs.type === type;

const pushed = (jid: string, subscription: string) => (e: Element) =>
  e.name === "iq" && e.attrs.type === "set" &&
  e.getChild("query", ROSTER)?.getChild("item")?.attrs.jid === jid &&
  e.getChild("query", ROSTER)?.getChild("item")?.attrs.subscription === subscription;

/** alice@a.test and bob@b.test end up subscribed both ways, both online. */
async function befriend(alice: TestClient, bob: TestClient): Promise<void> {
  // Roster pushes go to resources that fetched the roster.
  for (const c of [alice, bob]) {
    c.send(`<iq type='get' id='r0'><query xmlns='${ROSTER}'/></iq>`);
    await c.stanza((e) => e.attrs.id === "r0");
  }
  alice.send(`<presence to='bob@b.test' type='subscribe'/>`);
  await bob.stanza(presenceFrom("alice@a.test", "subscribe"));
  bob.send(`<presence to='alice@a.test' type='subscribed'/>`);
  await alice.stanza(pushed("bob@b.test", "to"));
  await alice.stanza(presenceFrom("bob@b.test/r"));

  bob.send(`<presence to='alice@a.test' type='subscribe'/>`);
  await alice.stanza(presenceFrom("bob@b.test", "subscribe"));
  alice.send(`<presence to='bob@b.test' type='subscribed'/>`);
  await bob.stanza(pushed("alice@a.test", "both"));
  await bob.stanza(presenceFrom("alice@a.test/r"));
}

Deno.test("s2s presence: logging in again probes the remote contact, whose presence arrives", async () => {
  const [a, b] = await pair();
  let alice = await login(a, "alice", "wonderland", "a.test");
  const bob = await login(b, "bob", "builder", "b.test");
  try {
    await befriend(alice, bob);
    bob.send(`<presence><show>dnd</show><status>busy</status></presence>`);
    await alice.stanza((e) => presenceFrom("bob@b.test/r")(e) && e.getChildText("show") === "dnd");

    alice.close();
    await bob.stanza(presenceFrom("alice@a.test/r", "unavailable"));
    // Bob sends nothing from here on: only a probe from a.test (answered by
    // b.test with bob's current presence) can tell the new session about him.
    alice = await login(a, "alice", "wonderland", "a.test", "again");
    const probed = await alice.stanza(presenceFrom("bob@b.test/r"));
    assert.equal(probed.getChildText("show"), "dnd");
    assert.equal(probed.getChildText("status"), "busy");
    // And the other way: bob is told alice is back by her initial presence.
    await bob.stanza(presenceFrom("alice@a.test/again"));
  } finally {
    alice.close();
    bob.close();
    await a.stop();
    await b.stop();
  }
});

Deno.test("s2s presence: a logout's unavailable presence reaches contacts on the other server", async () => {
  const [a, b] = await pair();
  const alice = await login(a, "alice", "wonderland", "a.test");
  const bob = await login(b, "bob", "builder", "b.test");
  const bob2 = await login(b, "bob", "builder", "b.test", "second");
  try {
    await befriend(alice, bob);
    await alice.stanza(presenceFrom("bob@b.test/second"));

    // A.test → b.test: alice closes her stream without sending unavailable
    // herself; her server broadcasts it.
    alice.close();
    await bob.stanza(presenceFrom("alice@a.test/r", "unavailable"));
    await bob2.stanza(presenceFrom("alice@a.test/r", "unavailable"));

    // B.test → a.test, once alice is back: one resource leaves with an
    // explicit unavailable and a status, the other just disconnects.
    const alice2 = await login(a, "alice", "wonderland", "a.test", "back");
    try {
      await alice2.stanza(presenceFrom("bob@b.test/r"));
      await alice2.stanza(presenceFrom("bob@b.test/second"));
      bob2.send(`<presence type='unavailable'><status>later</status></presence>`);
      const left = await alice2.stanza(presenceFrom("bob@b.test/second", "unavailable"));
      assert.equal(left.getChildText("status"), "later");
      bob.close();
      await alice2.stanza(presenceFrom("bob@b.test/r", "unavailable"));
    } finally {
      alice2.close();
    }
  } finally {
    alice.close();
    bob.close();
    bob2.close();
    await a.stop();
    await b.stop();
  }
});
