import assert from "node:assert/strict";
import type { SubscriptionQuery } from "../../src/core/subscription.ts";
import { errorCondition as condition, hostFeatures, TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { NS } from "../../src/xml/namespaces.ts";
import type { Element } from "../../src/xml/element.ts";
import { MODULES } from "../../src/modules/index.ts";
import { VERSION } from "../../src/version.ts";

function login(server: TestServer, user: string, resource = "r", presence?: string | false) {
  const password = user === "alice" ? "wonderland" : "builder";
  return TestClient.login({ port: server.ports.c2s, user, password, resource, presence });
}

let seq = 0;
async function iq(c: TestClient, to: string | undefined, payload: string): Promise<Element> {
  const id = "m" + ++seq;
  c.send(`<iq type='get' id='${id}'${to ? ` to='${to}'` : ""}>${payload}</iq>`);
  return await c.stanza((e) => e.name === "iq" && e.attrs.id === id);
}

const LAST = "<query xmlns='jabber:iq:last'/>";

async function lastLogStored(server: TestServer, user: string): Promise<void> {
  const kv = server.storage.keyval("localhost", "lastlog");
  const deadline = Date.now() + 3000;
  while (await kv.get(user) === undefined) {
    if (Date.now() > deadline) throw new Error("no last logout stored for " + user);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("version: name and version, no os", async () => {
  const server = await startTestServer();
  try {
    const a = await login(server, "alice");
    const r = await iq(a, "localhost", "<query xmlns='jabber:iq:version'/>");
    assert.equal(r.attrs.type, "result");
    assert.equal(r.attrs.from, "localhost");
    const q = r.getChild("query", "jabber:iq:version")!;
    assert.equal(q.getChildText("name"), "Parley");
    assert.equal(q.getChildText("version"), VERSION);
    assert.equal(q.getChild("os"), undefined);
    a.close();
  } finally {
    await server.stop();
  }
});

Deno.test("time: UTC with a +00:00 offset", async () => {
  const server = await startTestServer();
  try {
    const a = await login(server, "alice");
    const r = await iq(a, "localhost", "<time xmlns='urn:xmpp:time'/>");
    const t = r.getChild("time", "urn:xmpp:time")!;
    assert.equal(t.getChildText("tzo"), "+00:00");
    const utc = t.getChildText("utc")!;
    assert.match(utc, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(Math.abs(Date.parse(utc) - Date.now()) < 60_000);
    a.close();
  } finally {
    await server.stop();
  }
});

Deno.test("features: last, version, time and ping are advertised", async () => {
  const server = await startTestServer();
  try {
    const a = await login(server, "alice");
    const vars = await hostFeatures(a);
    for (const ns of ["jabber:iq:last", "jabber:iq:version", "urn:xmpp:time", NS.ping]) {
      assert.ok(vars.includes(ns), ns);
    }
    a.close();
  } finally {
    await server.stop();
  }
});

Deno.test("last: server uptime; accounts forbidden to strangers, unknown ones alike", async () => {
  const server = await startTestServer();
  try {
    const a = await login(server, "alice");
    const up = await iq(a, "localhost", LAST);
    assert.equal(up.attrs.type, "result");
    const secs = Number(up.getChild("query", "jabber:iq:last")!.attrs.seconds);
    assert.ok(Number.isInteger(secs) && secs >= 0);

    assert.equal(condition(await iq(a, "bob@localhost", LAST)), "forbidden");
    // Same answer as for an existing account: existence is not revealed.
    assert.equal(condition(await iq(a, "nobody@localhost", LAST)), "forbidden");
    // The account itself, online: 0.
    const self = await iq(a, undefined, LAST);
    assert.equal(self.getChild("query", "jabber:iq:last")!.attrs.seconds, "0");
    a.close();
  } finally {
    await server.stop();
  }
});

Deno.test("last: seconds since the last logout and its status", async () => {
  const server = await startTestServer();
  try {
    const host = server.hosts.get("localhost")!;
    // Bob's roster gives alice a from subscription (the roster module's answer).
    host.events.on(
      "roster/get-subscription",
      (q: SubscriptionQuery) => {
        if (q.owner !== "bob" || q.contact !== "alice@localhost") return false;
        q.subscription = "from";
        return true;
      },
      10,
    );
    const b = await login(server, "bob", "b1");
    const b2 = await login(server, "bob", "b2");
    const a = await login(server, "alice");
    const online = await iq(a, "bob@localhost", LAST);
    assert.equal(online.getChild("query", "jabber:iq:last")!.attrs.seconds, "0");

    b2.close(); // not the last resource: nothing recorded yet
    b.send("<presence type='unavailable'><status>gone fishing</status></presence>");
    await b.stanza((e) => e.name === "presence" && e.attrs.type === "unavailable");
    b.close();
    await lastLogStored(server, "bob");
    const r = await iq(a, "bob@localhost", LAST);
    assert.equal(r.attrs.type, "result");
    assert.equal(r.attrs.from, "bob@localhost");
    const q = r.getChild("query", "jabber:iq:last")!;
    assert.ok(Number(q.attrs.seconds) >= 0);
    assert.equal(q.text(), "gone fishing");
    a.close();
  } finally {
    await server.stop();
  }
});

Deno.test("last: connected but unavailable, the time since that presence and its status", async () => {
  const server = await startTestServer();
  try {
    const host = server.hosts.get("localhost")!;
    host.events.on("roster/get-subscription", (q: SubscriptionQuery) => {
      if (q.owner !== "bob" || q.contact !== "alice@localhost") return false;
      q.subscription = "both";
      return true;
    }, 10);
    // An older logout is on record; what follows must not answer with it.
    const dayAgo = Date.now() - 86_400_000;
    await server.storage.keyval("localhost", "lastlog").set("bob", { when: dayAgo, status: "old" });
    const b = await login(server, "bob", "b1");
    const b2 = await login(server, "bob", "b2", false); // connected, never available
    const a = await login(server, "alice");
    const last = async (c: TestClient, to?: string) => {
      const r = await iq(c, to, LAST);
      assert.equal(r.attrs.type, "result", r.toString());
      const q = r.getChild("query", "jabber:iq:last")!;
      return { seconds: Number(q.attrs.seconds), status: q.text() };
    };
    assert.deepEqual(await last(b2), { seconds: 0, status: "" });

    b.send("<presence type='unavailable'><status>brb</status></presence>");
    await b.stanza((e) => e.name === "presence" && e.attrs.type === "unavailable");
    const at = Date.now();
    // Own account (no to, and its bare JID), from either resource, and a subscriber.
    for (const [c, to] of [[b, undefined], [b2, "bob@localhost"], [a, "bob@localhost"]] as const) {
      const r = await last(c, to);
      assert.equal(r.status, "brb");
      assert.ok(r.seconds <= Math.ceil((Date.now() - at) / 1000), `${r.seconds} s`);
    }
    // The count runs from that presence.
    await new Promise((r) => setTimeout(r, 1100));
    assert.ok((await last(b)).seconds >= 1);

    // Available again: 0; b2 leaving changes nothing while b is available.
    b.send("<presence/>");
    await b.stanza((e) => e.name === "presence" && e.attrs.from === b.jid);
    assert.deepEqual(await last(a, "bob@localhost"), { seconds: 0, status: "" });
    b2.close();
    assert.deepEqual(await last(a, "bob@localhost"), { seconds: 0, status: "" });
    a.close();
    b.close();
  } finally {
    await server.stop();
  }
});

Deno.test({
  name: "last: a real presence subscription (roster module) authorizes the query",
  ignore: !MODULES.has("roster"),
  async fn() {
    const server = await startTestServer();
    try {
      const b = await login(server, "bob", "b");
      const a = await login(server, "alice", "a");
      a.send("<presence to='bob@localhost' type='subscribe'/>");
      await b.stanza((e) => e.name === "presence" && e.attrs.type === "subscribe");
      b.send("<presence to='alice@localhost' type='subscribed'/>");
      await a.stanza((e) => e.name === "presence" && e.attrs.type === "subscribed");
      // alice now has a "to" subscription, so bob's roster lists her as "from".
      b.send("<presence type='unavailable'><status>bye</status></presence>");
      b.close();
      await lastLogStored(server, "bob");
      const r = await iq(a, "bob@localhost", LAST);
      assert.equal(r.attrs.type, "result", r.toString());
      assert.equal(r.getChild("query", "jabber:iq:last")!.text(), "bye");
      // And bob (no subscription to alice's presence) may not ask about alice.
      const b2 = await login(server, "bob", "b2");
      assert.equal(condition(await iq(b2, "alice@localhost", LAST)), "forbidden");
      a.close();
      b2.close();
    } finally {
      await server.stop();
    }
  },
});

const PING_FAST = { ping: { idleSeconds: 1, timeoutSeconds: 1 } };
const isPing = (e: Element) =>
  e.name === "iq" && e.attrs.type === "get" && e.getChild("ping", NS.ping) !== undefined;

Deno.test("ping: the server pings idle clients; answers (result or error) keep them", async () => {
  const server = await startTestServer(PING_FAST);
  try {
    const a = await login(server, "alice");
    const p1 = await a.stanza(isPing, 5000);
    assert.equal(p1.attrs.from, "localhost");
    assert.equal(p1.attrs.to, a.jid);
    a.send(`<iq type='result' id='${p1.attrs.id}' to='localhost'/>`);
    const p2 = await a.stanza(isPing, 5000);
    assert.notEqual(p2.attrs.id, p1.attrs.id);
    // An error reply proves liveness as well as a result.
    a.send(
      `<iq type='error' id='${p2.attrs.id}' to='localhost'><error type='cancel'>` +
        `<service-unavailable xmlns='${NS.stanzas}'/></error></iq>`,
    );
    await a.stanza(isPing, 5000);
    assert.equal(a.closed, false);
    assert.equal(
      a.frames.some((f) => f.kind === "stanza" && f.element.name === "stream:error"),
      false,
    );
    a.close();
  } finally {
    await server.stop();
  }
});

Deno.test("ping: a client that never answers is closed with connection-timeout", async () => {
  const server = await startTestServer(PING_FAST);
  try {
    const a = await login(server, "alice");
    await a.stanza(isPing, 5000);
    assert.equal(await a.streamError(5000), "connection-timeout");
    await a.waitClosed();
    assert.equal(server.sessions.boundCount, 0);
    a.close();
  } finally {
    await server.stop();
  }
});
