/**
 * Federation policy and negotiation edge cases, against a scripted peer
 * (`S2sPeer`, or a fake remote server listening here): stream versions,
 * encryption and certificate policy, authentication time limits, repeated
 * dialback requests.
 */
import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";
import { S2sPeer } from "../helpers/s2s_peer.ts";
import { NS } from "../../src/xml/namespaces.ts";
import { NS_DIALBACK_FEATURE } from "../../src/s2s/common.ts";

Deno.test("s2s in: a peer that sends no version gets none back and no features (RFC 6120 §4.7.5)", async () => {
  const b = await startTestServer({ hosts: ["b.test"] });
  const old = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test", {
    openAfterTls: false,
    version: null,
  });
  const newer = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test", {
    openAfterTls: false,
    version: "1.5",
  });
  try {
    await old.next((f) => f.kind === "open");
    assert.equal(old.header?.version, undefined);
    await old.nothing((e) => e.name === "stream:features", 200);
    // A later version than ours is answered with ours, and features follow.
    await newer.features();
    assert.equal(newer.header?.version, "1.0");
  } finally {
    old.close();
    newer.close();
    await b.stop();
  }
});

Deno.test("s2s in: with encryption required, a plaintext peer must STARTTLS before dialback", async () => {
  const b = await startTestServer({ hosts: ["b.test"] });
  const plain = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test", { openAfterTls: false });
  const old = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test", {
    openAfterTls: false,
    version: null,
  });
  try {
    const features = await plain.features();
    assert.ok(features.getChild("starttls", NS.tls)?.getChild("required"));
    assert.equal(features.getChild("dialback", NS_DIALBACK_FEATURE), undefined);
    assert.equal(features.getChild("mechanisms", NS.sasl), undefined);
    plain.send(`<db:result from='a.test' to='b.test'>${"0".repeat(64)}</db:result>`);
    assert.equal(await plain.streamError(), "policy-violation");
    // A pre-1.0 peer sees no features at all, and is refused the same way.
    await old.next((f) => f.kind === "open");
    old.send(`<db:result from='a.test' to='b.test'>${"0".repeat(64)}</db:result>`);
    assert.equal(await old.streamError(), "policy-violation");
  } finally {
    plain.close();
    old.close();
    await b.stop();
  }
});
