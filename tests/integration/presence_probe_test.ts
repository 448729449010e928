/**
 * Presence probes to accounts that do not exist (RFC 6121 §4.3.2): never
 * created, or deleted behind the contacts' backs (`parley deluser` runs
 * without the server, so nobody is told). The answer is `unsubscribed`
 * from the account's bare JID, and the prober's server then ends the
 * subscription it still believed in (§3.2.3): a roster push and the
 * `unsubscribed` for the client. Locally and across an s2s link.
 */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { serverPair } from "../helpers/federation.ts";
import { imLogin } from "../helpers/im.ts";
import type { Element } from "../../src/xml/element.ts";
import type { Json } from "../../src/storage/types.ts";

const ROSTER = "jabber:iq:roster";

const pushed = (jid: string, subscription: string) => (e: Element) =>
  e.name === "iq" && e.attrs.type === "set" &&
  e.getChild("query", ROSTER)?.getChild("item")?.attrs.jid === jid &&
  e.getChild("query", ROSTER)?.getChild("item")?.attrs.subscription === subscription;

const presenceFrom = (from: string, type?: string) => (e: Element) =>
  e.name === "presence" && e.attrs.from === from && e.attrs.type === type;

async function seedRoster(
  server: TestServer,
  host: string,
  user: string,
  items: { jid: string; subscription: string; ask?: boolean }[],
): Promise<void> {
  await server.storage.keyval(host, "roster").set(user, {
    version: 1,
    items: items.map((i) => ({ ...i, groups: [] })) as Json[],
    pending: {},
  });
}

/** What `parley deluser` does: data and credentials gone, no contact told. */
async function deleteBehindTheirBacks(server: TestServer, host: string, user: string) {
  await server.storage.deleteUser(host, user);
  await server.auth.deleteUser(host, user);
}

Deno.test("probes at login to local accounts that never existed or were deleted: unsubscribed", async () => {
  const server = await startTestServer({}, { alice: "a", gone: "g" });
  try {
    await deleteBehindTheirBacks(server, "localhost", "gone");
    await seedRoster(server, "localhost", "alice", [
      { jid: "ghost@localhost", subscription: "to" },
      { jid: "gone@localhost", subscription: "both" },
    ]);
    const alice = await imLogin(server, "alice", "a", "r");
    await alice.stanza(pushed("ghost@localhost", "none"));
    await alice.stanza(presenceFrom("ghost@localhost", "unsubscribed"));
    // gone was subscribed to alice too: that half is hers to end, not the probe's.
    await alice.stanza(pushed("gone@localhost", "from"));
    await alice.stanza(presenceFrom("gone@localhost", "unsubscribed"));
    alice.close();

    // The next login has nothing left to probe there.
    const again = await imLogin(server, "alice", "a", "r2");
    await again.nothing((e) => e.name === "presence" && e.attrs.type === "unsubscribed", 100);
    again.close();
  } finally {
    await server.stop();
  }
});

Deno.test("a client's own probe to a missing account clears the request it left pending", async () => {
  const server = await startTestServer({}, { alice: "a" });
  try {
    const alice = await imLogin(server, "alice", "a", "r");
    // A request to an account that does not exist is dropped (§8.5.1)…
    alice.send("<presence to='ghost@localhost' type='subscribe'/>");
    const pending = await alice.stanza(pushed("ghost@localhost", "none"));
    assert.equal(pending.getChild("query", ROSTER)!.getChild("item")!.attrs.ask, "subscribe");
    await alice.nothing(presenceFrom("ghost@localhost", "unsubscribed"), 100);
    // …but a probe is answered, and that answer ends the pending request.
    alice.send("<presence to='ghost@localhost' type='probe'/>");
    const cleared = await alice.stanza(pushed("ghost@localhost", "none"));
    assert.equal(cleared.getChild("query", ROSTER)!.getChild("item")!.attrs.ask, undefined);
    const answer = await alice.stanza(presenceFrom("ghost@localhost", "unsubscribed"));
    assert.equal(answer.attrs.to, "alice@localhost");
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("probes over s2s to accounts that never existed or were deleted: unsubscribed", async () => {
  const [a, b] = await serverPair();
  let alice: TestClient | undefined;
  try {
    await b.auth.createUser("b.test", "gone", "g");
    await deleteBehindTheirBacks(b, "b.test", "gone");
    await seedRoster(a, "a.test", "alice", [
      { jid: "ghost@b.test", subscription: "to" },
      { jid: "gone@b.test", subscription: "to" },
    ]);
    alice = await TestClient.login({
      port: a.ports.c2s,
      domain: "a.test",
      user: "alice",
      password: "wonderland",
      resource: "r",
      presence: false,
    });
    alice.send(`<iq type='get' id='r0'><query xmlns='${ROSTER}'/></iq>`);
    await alice.stanza((e) => e.attrs.id === "r0");
    alice.send("<presence/>");
    for (const jid of ["ghost@b.test", "gone@b.test"]) {
      await alice.stanza(pushed(jid, "none"));
      const answer = await alice.stanza(presenceFrom(jid, "unsubscribed"));
      assert.equal(answer.attrs.to, "alice@a.test");
    }
  } finally {
    alice?.close();
    await a.stop();
    await b.stop();
  }
});
