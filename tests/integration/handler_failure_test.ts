/**
 * A handler that throws (a bug reached by one stanza), synchronously or
 * by rejecting, costs that stanza only: an iq get/set is answered with
 * internal-server-error, anything else is dropped with a log line, and
 * the sender's session, the server and everybody else go on. Handlers
 * are hooked into the running test server through its hosts' event hubs,
 * as a module's `api.hook` would.
 */
import assert from "node:assert/strict";
import { errorCondition, iq, TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import type { StanzaEvent } from "../../src/core/router.ts";
import type { StreamElementEvent } from "../../src/stream/c2s.ts";

const NS_BOOM = "urn:example:boom";

function installBuggyHandlers(server: TestServer): void {
  const events = server.hosts.get("localhost")!.events;
  events.on(`iq-get/host/${NS_BOOM}:sync`, () => {
    throw new TypeError("bug in a sync handler");
  });
  events.on(`iq-set/host/${NS_BOOM}:async`, async () => {
    await new Promise((r) => setTimeout(r, 5));
    throw new TypeError("bug in an async handler");
  });
  // Above delivery: messages and presences carrying <boom/> hit a bug.
  const buggy = (ev: StanzaEvent) => {
    const boom = ev.stanza.getChild("boom", NS_BOOM);
    if (!boom) return false;
    if (boom.attrs.mode === "async") return Promise.reject(new TypeError("async bug"));
    throw new TypeError("sync bug");
  };
  for (const name of ["message/bare", "message/full", "presence/self", "pre-message/bare"]) {
    events.on(name, buggy, 50);
  }
  events.on<StreamElementEvent>("stream-element", ({ element }) => {
    if (element.attrs.xmlns !== NS_BOOM) return false;
    if (element.attrs.mode === "async") return Promise.reject(new TypeError("async bug"));
    throw new TypeError("sync bug");
  }, 50);
}

async function login(server: TestServer, user: string, password: string, resource = "r") {
  const c = await TestClient.login({ port: server.ports.c2s, user, password, resource });
  await c.stanza((e) => e.name === "presence" && e.attrs.from === c.jid);
  return c;
}

/** The session still works: a ping to the server is answered. */
async function usable(c: TestClient, id: string): Promise<void> {
  const pong = await iq(
    c,
    id,
    `<iq type='get' id='${id}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`,
  );
  assert.equal(pong.attrs.type, "result", pong.toString());
}

Deno.test("an iq get/set whose handler throws, sync or async, gets internal-server-error; the session goes on", async () => {
  const server = await startTestServer();
  installBuggyHandlers(server);
  try {
    const alice = await login(server, "alice", "wonderland");
    const sync = await iq(
      alice,
      "s1",
      `<iq type='get' id='s1' to='localhost'><sync xmlns='${NS_BOOM}'/></iq>`,
    );
    assert.equal(sync.attrs.type, "error");
    assert.equal(errorCondition(sync), "internal-server-error");
    const async = await iq(
      alice,
      "a1",
      `<iq type='set' id='a1' to='localhost'><async xmlns='${NS_BOOM}'/></iq>`,
    );
    assert.equal(errorCondition(async), "internal-server-error");
    await usable(alice, "p1");
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("messages, presences and stream elements whose handlers throw are dropped; sender and recipient go on", async () => {
  const server = await startTestServer();
  installBuggyHandlers(server);
  try {
    const alice = await login(server, "alice", "wonderland");
    const bob = await login(server, "bob", "builder");
    for (const mode of ["sync", "async"]) {
      alice.send(
        `<message to='bob@localhost' id='m-${mode}'><body>x</body>` +
          `<boom xmlns='${NS_BOOM}' mode='${mode}'/></message>`,
      );
      alice.send(`<presence id='p-${mode}'><boom xmlns='${NS_BOOM}' mode='${mode}'/></presence>`);
      // A non-stanza element after binding, handled by a module (like SM or CSI).
      alice.send(`<boom xmlns='${NS_BOOM}' mode='${mode}'/>`);
    }
    await usable(alice, "p2");
    // Nothing came back for the dropped stanzas, and the stream is open.
    assert.equal(alice.closed, false);
    assert.equal(
      alice.frames.find((f) => f.kind === "stanza" && f.element.name === "stream:error"),
      undefined,
    );
    // Ordinary traffic between the two still flows.
    alice.send(`<message to='bob@localhost/r' type='chat' id='ok'><body>fine</body></message>`);
    await bob.stanza((e) => e.attrs.id === "ok");
    // And a fresh login works: the server is up.
    const again = await login(server, "alice", "wonderland", "second");
    await usable(again, "p3");
    again.close();
    alice.close();
    bob.close();
  } finally {
    await server.stop();
  }
});
