/**
 * External components (XEP-0114) that claim more than their own: a `from`
 * in a domain another component (or the server) owns.
 */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { connectComponent, handshakeDigest, openComponent } from "../helpers/component.ts";

Deno.test("component: a from in a nested component's domain, or a hosted subdomain, gets invalid-from", async () => {
  const server = await startTestServer({
    hosts: ["localhost", "users.bots.localhost"],
    components: {
      "bots.localhost": { secret: "outer" },
      "inner.bots.localhost": { secret: "inner" },
    },
  });
  try {
    const alice = await TestClient.login({
      port: server.ports.c2s,
      user: "alice",
      password: "wonderland",
      resource: "r",
    });
    const inner = await connectComponent(server, "inner.bots.localhost", "inner");
    // The outer component's own subdomains are its: this one reaches alice.
    const outer = await connectComponent(server, "bots.localhost", "outer");
    outer.send(`<message from='x@icq.bots.localhost' to='alice@localhost/r' id='own'/>`);
    await alice.stanza((e) => e.attrs.id === "own");
    // inner.bots.localhost is another component's (the longest configured match owns it).
    outer.send(`<message from='x@inner.bots.localhost' to='alice@localhost/r' id='spoof'/>`);
    assert.equal(await outer.streamError(), "invalid-from");
    await alice.nothing((e) => e.attrs.id === "spoof", 200);
    // users.bots.localhost is a domain this server hosts.
    const again = await connectComponent(server, "bots.localhost", "outer");
    again.send(`<message from='bob@users.bots.localhost' to='alice@localhost/r' id='host'/>`);
    assert.equal(await again.streamError(), "invalid-from");
    await alice.nothing((e) => e.attrs.id === "host", 200);
    inner.close();
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("component: past component.failedHandshakesPerIp an address is refused, even with the right secret", async () => {
  const server = await startTestServer({
    components: { "bots.localhost": { secret: "right" } },
    component: { failedHandshakesPerIp: { maxFailures: 3, windowSeconds: 600 } },
  });
  try {
    for (let i = 0; i < 3; i++) {
      const { c, id } = await openComponent(server, "bots.localhost");
      c.send(`<handshake>${handshakeDigest(id, "guess" + i)}</handshake>`);
      assert.equal(await c.streamError(), "not-authorized");
      c.close();
    }
    // The right secret now gets the same answer as a wrong one: no oracle for a guesser.
    const { c, id } = await openComponent(server, "bots.localhost");
    c.send(`<handshake>${handshakeDigest(id, "right")}</handshake>`);
    assert.equal(await c.streamError(), "not-authorized");
    c.close();
    assert.equal(server.c2s.router.components?.link("bots.localhost"), undefined);
  } finally {
    await server.stop();
  }
});
