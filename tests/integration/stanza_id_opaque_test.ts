/**
 * XEP-0359 §5 and §6: stanza ids SHOULD be unpredictable, and whoever sees
 * them MUST NOT be able to infer anything from them (the size of an
 * archive, for one). The time part of ours is also given with every
 * archived message (MAM's `<delay/>`); the rest must be random, not a
 * counter shared by every archive of the server, which would tell a user
 * how many messages all the others exchanged between two of theirs.
 */
import assert from "node:assert/strict";
import { stanzaId, startWithAliceAndBob } from "../helpers/mam.ts";

Deno.test("stanza-id: past the time, ids are random, not a server-wide counter", async () => {
  const { server, alice, bob } = await startWithAliceAndBob();
  try {
    const tails: string[] = [];
    for (let i = 0; i < 8; i++) {
      alice.send(`<message to='bob@localhost' type='chat' id='m${i}'><body>${i}</body></message>`);
      const got = await bob.stanza((e) => e.attrs.id === `m${i}`);
      const id = stanzaId(got, "bob@localhost");
      assert.ok(id, got.toString());
      // The shape stays: 12 hex digits of time, then a UUID-like tail.
      assert.match(id, /^[0-9a-f]{12}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      tails.push(id.slice(13).replaceAll("-", ""));
    }
    // A counter keeps its high digits from one id to the next (only the
    // last few change); random tails differ at the front too.
    const fronts = new Set(tails.map((t) => t.slice(0, 12)));
    assert.ok(fronts.size > 1, "predictable ids: " + tails.join(" "));
    // 48 random bits at the front: eight of them all differ (a clash is a 1 in 10^13 event).
    assert.equal(fronts.size, tails.length, "predictable ids: " + tails.join(" "));
  } finally {
    alice.close();
    bob.close();
    await server.stop();
  }
});
