/**
 * XEP-0288 bidirectional server-to-server streams between two Parley
 * instances on 127.0.0.1: the stream a.test opens to b.test carries
 * b.test's stanzas back, so no second connection is made.
 */
import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";
import { loginAt as login } from "../helpers/federation.ts";
import { S2sPeer } from "../helpers/s2s_peer.ts";
import { generateSelfSigned } from "../../src/tls/selfsigned.ts";

Deno.test("s2s bidi: one connection carries messages both ways (SASL EXTERNAL)", async () => {
  // Certificates trusted through s2s.caFile, dialback off: no verification connection either.
  const dir = await Deno.makeTempDir({ prefix: "parley-s2s-bidi-" });
  const tls: Record<string, { certificate: string; key: string }> = {};
  let bundle = "";
  for (const domain of ["a.test", "b.test"]) {
    const pair = await generateSelfSigned([domain]);
    tls[domain] = { certificate: `${dir}/${domain}.crt`, key: `${dir}/${domain}.key` };
    await Deno.writeTextFile(tls[domain].certificate, pair.certPem);
    await Deno.writeTextFile(tls[domain].key, pair.keyPem);
    bundle += pair.certPem;
  }
  await Deno.writeTextFile(`${dir}/ca.pem`, bundle);
  const s2s = { caFile: `${dir}/ca.pem`, allowDialback: false, requireValidCertificates: true };
  const a = await startTestServer({ hosts: ["a.test"], tls: tls["a.test"], s2s });
  const b = await startTestServer({ hosts: ["b.test"], tls: tls["b.test"], s2s });
  a.config.s2s.hosts["b.test"] = `127.0.0.1:${b.ports.s2s}`;
  b.config.s2s.hosts["a.test"] = `127.0.0.1:${a.ports.s2s}`;
  const alice = await login(a, "alice", "wonderland", "a.test");
  const bob = await login(b, "bob", "builder", "b.test");
  try {
    alice.send(`<message to='bob@b.test/r' type='chat' id='b1'><body>1</body></message>`);
    await bob.stanza((e) => e.attrs.id === "b1");
    bob.send(`<message to='alice@a.test/r' type='chat' id='b2'><body>2</body></message>`);
    const back = await alice.stanza((e) => e.attrs.id === "b2");
    assert.equal(back.attrs.from, "bob@b.test/r");
    // An iq and its result, each way over the same stream.
    bob.send(`<iq to='a.test' type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>`);
    const pong = await bob.stanza((e) => e.name === "iq" && e.attrs.id === "p1");
    assert.equal(pong.attrs.type, "result");

    // The only connection is a.test's: b.test opened none, a.test accepted none.
    assert.equal(a.s2s!.manager.outgoing("a.test", "b.test")?.ready, true);
    assert.equal(b.s2s!.manager.outgoing("b.test", "a.test"), undefined);
    assert.equal(a.s2s!.manager.incoming.size, 0);
    assert.equal(b.s2s!.manager.incoming.size, 1);
    assert.ok(b.s2s!.manager.bidiRoute("b.test", "a.test"));
  } finally {
    alice.close();
    bob.close();
    await a.stop();
    await b.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("s2s bidi: offered on incoming streams; with dialback, only verified pairs go back", async () => {
  const a = await startTestServer({ hosts: ["a.test"] });
  const b = await startTestServer({ hosts: ["b.test"] });
  b.config.s2s.hosts["a.test"] = `127.0.0.1:${a.ports.s2s}`;
  const bob = await login(b, "bob", "builder", "b.test");
  // Plays a.test's outgoing stream, with a key a.test made (b.test checks it with a.test).
  const peer = await S2sPeer.connect(b.ports.s2s, "a.test", "b.test", { openAfterTls: false });
  try {
    await peer.features();
    await peer.starttls();
    peer.open();
    const features = await peer.features();
    assert.ok(features.getChild("bidi", "urn:xmpp:features:bidi"));
    peer.send(`<bidi xmlns='urn:xmpp:bidi'/>`);
    await peer.dialback((id) => a.s2s!.manager.keys.generate("b.test", "a.test", id));
    assert.ok(b.s2s!.manager.bidiRoute("b.test", "a.test"));
    // Not for a pair the peer did not prove.
    assert.equal(b.s2s!.manager.bidiRoute("b.test", "c.test"), undefined);
    peer.close();
    // Once the stream is gone, so is the route.
    const deadline = Date.now() + 5000;
    while (b.s2s!.manager.bidiRoute("b.test", "a.test") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(b.s2s!.manager.bidiRoute("b.test", "a.test"), undefined);
  } finally {
    peer.close();
    bob.close();
    await a.stop();
    await b.stop();
  }
});
