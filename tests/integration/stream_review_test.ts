/**
 * Stream conformance found in review (RFC 6120 §4, §7, §11), over real
 * sockets: what one peer sends must not break another's stream, whatever
 * transport that one uses.
 */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { wsUrl } from "../helpers/websocket_server.ts";
import { WsTestClient } from "../helpers/websocket_client.ts";
import type { Element } from "../../src/xml/element.ts";

const bodyIs = (text: string) => (e: Element) =>
  e.name === "message" && e.getChildText("body") === text;

Deno.test("a payload in the streams namespace reaches a WebSocket client as well-formed XML", async () => {
  const server = await startTestServer();
  const alice = await WsTestClient.login(wsUrl(server), { user: "alice", password: "wonderland" });
  const bob = await TestClient.login({ port: server.ports.c2s, user: "bob", password: "builder" });
  try {
    // Over TCP the `stream` prefix is declared by the stream header; a
    // WebSocket message is a document of its own and declares nothing.
    bob.send(
      `<message to='${alice.jid}' type='chat'><body>one</body>` +
        "<s:x xmlns:s='http://etherx.jabber.org/streams'><s:y/><z/></s:x></message>",
    );
    bob.send(`<message to='${alice.jid}' type='chat'><body>two</body></message>`);
    const got = await alice.next(bodyIs("one"));
    // As the parser names elements of the streams namespace, at any depth.
    const x = got.getChild("stream:x");
    assert.ok(x?.getChild("stream:y"), got.toString());
    assert.equal(x?.getChild("z", "jabber:client")?.name, "z", got.toString());
    await alice.next(bodyIs("two"));
  } finally {
    alice.abort();
    bob.close();
    await server.stop();
  }
});
