/**
 * A remote occupant: bob@b.test joins a room of conference.a.test over
 * s2s, talks, gets and sends private messages, and is taken out when his
 * client goes away (his server sends the room his unavailable presence).
 */
import assert from "node:assert/strict";
import { errorCondition } from "../helpers/client.ts";
import { loginAt, serverPair } from "../helpers/federation.ts";
import { mucItem, NS_MUC, presenceFrom, statusCodes } from "../helpers/muc.ts";

const MUC = "conference.a.test";

Deno.test("muc over s2s: a remote occupant joins, talks, and leaves when his client goes", async () => {
  const [a, b] = await serverPair({ muc: { enabled: true } }, {}, [MUC]);
  const alice = await loginAt(a, "alice", "wonderland", "a.test");
  const bob = await loginAt(b, "bob", "builder", "b.test");
  const room = `far@${MUC}`;
  try {
    alice.send(`<presence to='${room}/Alice'/>`);
    await presenceFrom(alice, `${room}/Alice`);
    // A remote user may not create rooms (muc.create "local").
    bob.send(`<presence to='other@${MUC}/Bob'><x xmlns='${NS_MUC}'/></presence>`);
    const refused = await bob.stanza((e) => e.name === "presence" && e.attrs.type === "error");
    assert.equal(errorCondition(refused), "not-allowed");

    bob.send(`<presence to='${room}/Bob'><x xmlns='${NS_MUC}'/></presence>`);
    const self = await bob.stanza((e) =>
      e.name === "presence" && e.attrs.from === `${room}/Bob` && statusCodes(e).includes("110")
    );
    assert.equal(mucItem(self)!.attrs.role, "participant");
    const seen = await presenceFrom(alice, `${room}/Bob`);
    assert.equal(mucItem(seen)!.attrs.jid, "bob@b.test/r");

    bob.send(`<message to='${room}' type='groupchat'><body>from afar</body></message>`);
    const gc = await alice.stanza((e) => e.getChildText("body") === "from afar");
    assert.equal(gc.attrs.from, `${room}/Bob`);
    await bob.stanza((e) => e.getChildText("body") === "from afar");

    alice.send(`<message to='${room}/Bob' type='chat'><body>psst</body></message>`);
    const pm = await bob.stanza((e) => e.getChildText("body") === "psst");
    assert.equal(pm.attrs.from, `${room}/Alice`);
    bob.send(`<message to='${room}/Nobody' type='chat'><body>lost</body></message>`);
    const err = await bob.stanza((e) => e.name === "message" && e.attrs.type === "error");
    assert.equal(errorCondition(err), "item-not-found");

    bob.close();
    const gone = await presenceFrom(alice, `${room}/Bob`, "unavailable");
    assert.equal(mucItem(gone)!.attrs.role, "none");
  } finally {
    alice.close();
    bob.close();
    await a.stop();
    await b.stop();
  }
});
