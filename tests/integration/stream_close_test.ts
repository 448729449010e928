import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { imLogin } from "../helpers/im.ts";
import type { Element } from "../../src/xml/element.ts";

const PASSWORDS: Record<string, string> = { alice: "wonderland", bob: "builder" };

/** Logged in, roster fetched (so subscription requests reach it), presence sent and echoed. */
const online = (server: TestServer, user: string, resource: string) =>
  imLogin(server, user, PASSWORDS[user], resource);

const presenceFrom = (from: string, type?: string) => (e: Element) =>
  e.name === "presence" && e.attrs.from === from && e.attrs.type === type;

Deno.test("a client's </stream:stream> is answered with the server's, and contacts and own resources see it go unavailable", async () => {
  const server = await startTestServer();
  try {
    const a1 = await online(server, "alice", "a1");
    const bob = await online(server, "bob", "b");
    // bob subscribes to alice, through the protocol (RFC 6121 §3.1).
    bob.send("<presence to='alice@localhost' type='subscribe'/>");
    await a1.stanza(presenceFrom("bob@localhost", "subscribe"));
    a1.send("<presence to='bob@localhost' type='subscribed'/>");
    await bob.stanza(presenceFrom("alice@localhost/a1"));

    const a2 = await online(server, "alice", "a2");
    await a1.stanza(presenceFrom("alice@localhost/a2"));
    await bob.stanza(presenceFrom("alice@localhost/a2"));

    // RFC 6120 §4.4: the peer closes its side too, then the TCP connection ends.
    a2.send("</stream:stream>");
    await a2.next((f) => f.kind === "close");
    await a2.waitClosed();
    const errors = a2.frames.filter((f) =>
      f.kind === "stanza" && f.element.name === "stream:error"
    );
    assert.deepEqual(errors, [], "a clean close, no stream error");
    await a1.stanza(presenceFrom("alice@localhost/a2", "unavailable"));
    await bob.stanza(presenceFrom("alice@localhost/a2", "unavailable"));
    // a1 is still online: nothing about it.
    await bob.nothing(presenceFrom("alice@localhost/a1", "unavailable"));
    a1.close();
    bob.close();
  } finally {
    await server.stop();
  }
});
