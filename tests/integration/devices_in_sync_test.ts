/**
 * Issue 10 end to end: the archive, carbons and client state working on
 * the same messages. One archive id per message and account, the same
 * on the original, on every carbon and in the archive, so a client that
 * sees a message twice (live and from MAM) can tell.
 */
import assert from "node:assert/strict";
import type { TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { imLogin } from "../helpers/im.ts";
import { carbon, carbonOf, switchCarbons } from "../helpers/carbons.ts";
import { mamQuery, stanzaId } from "../helpers/mam.ts";

const CSI = "urn:xmpp:csi:0";
const ALICE = "alice@localhost";
const BOB = "bob@localhost";

const login = (server: TestServer, user: string, resource: string) =>
  imLogin(server, user, user === "alice" ? "wonderland" : "builder", resource);

const chat = (to: string | undefined, body: string) =>
  `<message to='${to}' type='chat' id='${body}'><body>${body}</body></message>`;

async function devices(server: TestServer) {
  const a1 = await login(server, "alice", "a1");
  const a2 = await login(server, "alice", "a2");
  const a3 = await login(server, "alice", "a3");
  const bob = await login(server, "bob", "b");
  for (const c of [a1, a2, a3]) assert.equal((await switchCarbons(c, true)).attrs.type, "result");
  return { a1, a2, a3, bob, all: [a1, a2, a3, bob] as TestClient[] };
}

Deno.test("in sync: originals, carbons and the archive share one stanza id per account", async () => {
  const server = await startTestServer();
  const { a1, a2, a3, bob, all } = await devices(server);
  try {
    // Received: bob writes to one resource; the others get carbons carrying alice's id.
    bob.send(chat(a1.jid, "in-1"));
    const original = await a1.stanza((e) => e.getChildText("body") === "in-1");
    const inId = stanzaId(original, ALICE);
    assert.ok(inId, "the delivered message carries alice's archive id");
    for (const c of [a2, a3]) {
      const { inner } = await carbon(c, "received", "in-1");
      assert.equal(stanzaId(inner, ALICE), inId, `${c.jid}: received carbon, same id`);
    }

    // Sent: a1 answers; the carbons carry alice's id, bob's copy only his own.
    a1.send(chat(BOB, "out-1"));
    const atBob = await bob.stanza((e) => e.getChildText("body") === "out-1");
    assert.equal(stanzaId(atBob, ALICE), undefined, "alice's archive id stays hers");
    assert.ok(stanzaId(atBob, BOB), "bob's archive stamped its own");
    const sentIds = new Set<string | undefined>();
    for (const c of [a2, a3]) {
      sentIds.add(stanzaId((await carbon(c, "sent", "out-1")).inner, ALICE));
    }
    assert.equal(sentIds.size, 1);
    const outId = [...sentIds][0];
    assert.ok(outId);

    // The archive holds both, under the same ids, in order.
    const page = await mamQuery(a2, { fields: { with: BOB } });
    assert.deepEqual(page.ids, [inId, outId]);
    assert.deepEqual(page.bodies, ["in-1", "out-1"]);
    assert.equal(page.complete, true);
  } finally {
    for (const c of all) c.close();
    await server.stop();
  }
});

Deno.test("in sync: an inactive device gets held presence first, then the carbon that woke it", async () => {
  const server = await startTestServer();
  const { a1, a3, bob, all } = await devices(server);
  const CHATSTATES = "http://jabber.org/protocol/chatstates";
  try {
    a3.send(`<inactive xmlns='${CSI}'/>`);
    // Directed presence and a chat state: both can wait while a3 is inactive.
    bob.send(`<presence to='${a3.jid}'><status>lunch</status></presence>`);
    bob.send(`<message to='${a3.jid}' type='chat'><composing xmlns='${CHATSTATES}'/></message>`);
    // bob's stanzas are handled in order: once this headline is at a1, both were handled.
    bob.send(`<message to='${a1.jid}' type='headline'><body>barrier</body></message>`);
    await a1.stanza((e) => e.getChildText("body") === "barrier");
    await a3.nothing((e) => e.attrs.from === bob.jid);

    // A message with a body to another resource: its carbon is important and flushes.
    bob.send(chat(a1.jid, "wake"));
    // From bob, or a carbon (from alice's bare JID): a3 also has its other resources' presence.
    const next = () => a3.stanza((e) => e.attrs.from === bob.jid || e.attrs.from === ALICE);
    const first = await next();
    assert.equal(first.name, "presence");
    assert.equal(first.getChildText("status"), "lunch");
    assert.ok((await next()).getChild("composing", CHATSTATES), "then the chat state");
    const third = await next();
    assert.equal(
      carbonOf(third, "received")?.getChildText("body"),
      "wake",
      "and the carbon that flushed them last",
    );
  } finally {
    for (const c of all) c.close();
    await server.stop();
  }
});
