/**
 * Stream management across transports: a session resumes over a new
 * WebSocket after its WebSocket dropped (a browser tab reloading), then
 * over TCP after that one dropped too. The session is the same object
 * throughout; only the transport under it changes.
 */
import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";
import { wsUrl } from "../helpers/websocket_server.ts";
import { WsTestClient } from "../helpers/websocket_client.ts";
import { imLogin } from "../helpers/im.ts";
import { resume, sessionOf, SM, takeBodies, until } from "../helpers/sm.ts";
import type { Element } from "../../src/xml/element.ts";

const JID = "alice@localhost/web";
const chat = (n: number) =>
  `<message to='${JID}' type='chat' id='m${n}'><body>${n}</body></message>`;
const isBody = (n: number) => (e: Element) =>
  e.name === "message" && e.getChildText("body") === `${n}`;

Deno.test("sm: a session resumes over a new WebSocket, then over TCP, losing nothing", async () => {
  const server = await startTestServer();
  const url = wsUrl(server);
  try {
    const alice = await WsTestClient.login(url, {
      user: "alice",
      password: "wonderland",
      resource: "web",
    });
    alice.send(`<enable xmlns='${SM}' resume='true'/>`);
    const enabled = await alice.next((e) => e.name === "enabled" && e.attrs.xmlns === SM);
    const id = enabled.attrs.id;
    const bob = await imLogin(server, "bob", "builder", "b");
    for (let n = 1; n <= 5; n++) bob.send(chat(n));
    for (let n = 1; n <= 5; n++) await alice.next(isBody(n));
    const session = sessionOf(server, JID)!;
    // The page goes away: the WebSocket closes without an XMPP <close/>.
    alice.abort();
    await until(() => session.hibernating, "hibernation");
    for (let n = 6; n <= 10; n++) bob.send(chat(n));
    await until(() => session.outbox.unackedCount === 10, "10 kept");

    const again = await WsTestClient.connect(url);
    await again.open();
    await again.auth("PLAIN", "alice", "wonderland");
    await again.open();
    again.send(`<resume xmlns='${SM}' previd='${id}' h='5'/>`);
    const resumed = await again.next((e) => e.attrs.xmlns === SM);
    assert.equal(resumed.name, "resumed", resumed.toString());
    for (let n = 6; n <= 10; n++) await again.next(isBody(n));
    // An answered <r/> comes after anything already sent: a duplicate would be in by now.
    again.send(`<r xmlns='${SM}'/>`);
    await again.next((e) => e.name === "a" && e.attrs.xmlns === SM);
    assert.equal(again.inbox.filter((e) => e.name === "message").length, 0, "each once");
    assert.equal(sessionOf(server, JID), session);

    // And from WebSocket to TCP: the same session, the next messages.
    again.abort();
    await until(() => session.hibernating, "hibernation again");
    for (let n = 11; n <= 12; n++) bob.send(chat(n));
    const { c: tcp, answer } = await resume(server, "alice", "wonderland", id, 10);
    assert.equal(answer.name, "resumed", answer.toString());
    const got: string[] = [];
    await until(() => got.push(...takeBodies(tcp)) >= 2, "11 and 12 over TCP");
    tcp.send(`<r xmlns='${SM}'/>`);
    await tcp.stanza((e) => e.name === "a" && e.attrs.xmlns === SM);
    got.push(...takeBodies(tcp));
    assert.deepEqual(got, ["11", "12"]);
    assert.equal(sessionOf(server, JID), session);
    assert.equal(session.transport?.kind, "tcp");
    tcp.close();
    bob.close();
  } finally {
    await server.stop();
  }
});
