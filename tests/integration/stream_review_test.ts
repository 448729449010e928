/**
 * Stream conformance found in review (RFC 6120 §4, §7, §11), over real
 * sockets: what one peer sends must not break another's stream, whatever
 * transport that one uses.
 */
import assert from "node:assert/strict";
import { b64, TestClient } from "../helpers/client.ts";
import { NS } from "../../src/xml/namespaces.ts";
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

Deno.test("a client that sends its new stream header and bind right behind its SASL response is answered", async () => {
  const server = await startTestServer();
  try {
    for (const split of [false, true]) {
      const c = await TestClient.connect({ port: server.ports.c2sDirectTls, directTls: true });
      await c.open();
      // Our side: the server's new stream header may follow <success/> in the same read.
      c.tap = (f) => {
        if (f.kind === "stanza" && f.element.name === "success") c.restartParser();
        return false;
      };
      const auth = `<auth xmlns='${NS.sasl}' mechanism='PLAIN'>${
        b64("\0alice\0wonderland")
      }</auth>`;
      const rest = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " +
        "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>" +
        `<iq type='set' id='b'><bind xmlns='${NS.bind}'><resource>piped</resource></bind></iq>`;
      if (split) {
        // The XML declaration in the first write, the rest while SASL is still checking.
        c.send(auth + rest.slice(0, 21));
        c.send(rest.slice(21));
      } else c.send(auth + rest);
      await c.stanza((e) => e.name === "success");
      const bound = await c.stanza((e) => e.name === "iq" && e.attrs.id === "b");
      assert.equal(bound.attrs.type, "result", bound.toString());
      assert.equal(bound.getChild("bind", NS.bind)?.getChildText("jid"), "alice@localhost/piped");
      c.close();
    }
  } finally {
    await server.stop();
  }
});
