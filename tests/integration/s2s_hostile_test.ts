/**
 * Hostile remote servers, against a scripted peer (`S2sPeer`): claims of
 * domains a peer cannot own, and what they must not make this server do.
 */
import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";
import { S2sPeer } from "../helpers/s2s_peer.ts";

Deno.test("s2s in: a db:result claiming one of our own domains is refused without connecting to ourselves", async () => {
  const b = await startTestServer({ hosts: ["b.test", "other.test"] });
  const peer = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test");
  try {
    // We are the authoritative server of our own domains: no server but this one could
    // hold a key for them, and asking "their" server would connect this server to itself.
    for (const from of ["b.test", "other.test"]) {
      peer.send(`<db:result from='${from}' to='b.test'>${"0".repeat(64)}</db:result>`);
      const answer = await peer.element((e) => e.name === "result" && e.attrs.to === from);
      assert.equal(answer.attrs.type, "invalid");
      assert.equal(b.s2s!.manager.outgoing("b.test", from), undefined);
    }
    peer.send(`<message from='x@other.test' to='bob@b.test' id='m'/>`);
    // Nothing was authenticated on this stream.
    assert.equal(await peer.streamError(), "not-authorized");
  } finally {
    peer.close();
    await b.stop();
  }
});
