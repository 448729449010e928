/**
 * External components (XEP-0114) that claim more than their own: a `from`
 * in a domain another component (or the server) owns.
 */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { connectComponent } from "../helpers/component.ts";

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
