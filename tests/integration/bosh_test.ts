/**
 * BOSH (XEP-0124/XEP-0206) over real HTTP: a BOSH client logs in and
 * talks with a TCP client; the rid window (retransmission, out-of-order
 * requests, a rid outside the window), terminate, inactivity and CORS.
 */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { BoshClient, type BoshServer, postBody, withBosh } from "../helpers/bosh_client.ts";
import { NS } from "../../src/xml/namespaces.ts";
import { b64 } from "../helpers/client.ts";

const tcpLogin = (s: BoshServer, user: string, password: string, resource: string) =>
  TestClient.login({ port: s.server.ports.c2s, user, password, resource });

const isMessage = (body: string) => (e: { name: string; getChildText(n: string): unknown }) =>
  e.name === "message" && e.getChildText("body") === body;

/** True when `p` has not settled after a moment (it is being held). */
async function stillPending(p: Promise<unknown>, ms = 300): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = Symbol("pending");
  const r = await Promise.race([
    p.then(() => undefined),
    new Promise((resolve) => timer = setTimeout(() => resolve(pending), ms)),
  ]);
  clearTimeout(timer);
  return r === pending;
}

Deno.test("bosh: session creation answers with the session's attributes and stream features", async () => {
  await withBosh({ bosh: { maxWaitSeconds: 30 } }, async (s) => {
    const c = new BoshClient(s.url);
    const reply = await c.create({ wait: "600", hold: "3", ack: "1" });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.get("content-type"), "text/xml; charset=utf-8");
    assert.equal(reply.headers.get("access-control-allow-origin"), null);
    const a = reply.attrs;
    assert.match(a.sid, /^[A-Za-z0-9_-]{24}$/);
    assert.equal(a.wait, "30"); // capped by bosh.maxWaitSeconds
    assert.equal(a.hold, "1"); // capped by bosh.maxHold
    assert.equal(a.requests, "2");
    assert.equal(a.ver, "1.11");
    assert.equal(a.from, "localhost");
    assert.ok(a.authid);
    assert.equal(a.inactivity, "60");
    assert.equal(a.maxpause, "120");
    assert.equal(a.ack, String(c.rid - 1));
    assert.equal(a["xmpp:version"], "1.0");
    const features = await c.stanza((e) => e.name === "stream:features");
    const mechanisms = features.getChild("mechanisms", NS.sasl);
    assert.ok(mechanisms?.children.some((m) => typeof m !== "string" && m.text() === "PLAIN"));
    await c.terminate();
  });
});

Deno.test("bosh: a BOSH client and a TCP client exchange messages both ways", async () => {
  await withBosh({}, async (s) => {
    const alice = new BoshClient(s.url);
    await alice.login("alice", "wonderland", "web");
    assert.equal(alice.jid, "alice@localhost/web");
    const bob = await tcpLogin(s, "bob", "builder", "tcp");
    try {
      // The poll request is held: a message for alice is answered on it.
      bob.send("<message to='alice@localhost/web' type='chat'><body>hi alice</body></message>");
      const got = await alice.stanza(isMessage("hi alice"));
      assert.equal(got.attrs.from, "bob@localhost/tcp");
      assert.equal(got.attrs.xmlns, NS.client);
      // And the other way.
      alice.send(
        "<message xmlns='jabber:client' to='bob@localhost/tcp'><body>hi bob</body></message>",
      );
      const back = await bob.stanza(isMessage("hi bob"));
      assert.equal(back.attrs.from, "alice@localhost/web");
      // An iq round trip inside the session.
      alice.send("<iq xmlns='jabber:client' type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
      const pong = await alice.stanza((e) => e.name === "iq" && e.attrs.id === "p1");
      assert.equal(pong.attrs.type, "result");
      await alice.terminate();
    } finally {
      bob.close();
    }
  });
});

Deno.test("bosh: a repeated rid gets the same answer again", async () => {
  await withBosh({}, async (s) => {
    const c = new BoshClient(s.url);
    await c.create();
    await c.stanza((e) => e.name === "stream:features");
    const rid = c.rid++;
    const auth = `<auth xmlns='${NS.sasl}' mechanism='PLAIN'>${b64("\0alice\0wrong")}</auth>`;
    const first = await c.request(auth, {}, rid);
    assert.ok(first.children.some((e) => e.name === "failure"));
    const again = await c.request(auth, {}, rid);
    assert.equal(again.text, first.text);
    // Processed once: only one failure counted, the session goes on.
    const ok = await c.request(
      `<auth xmlns='${NS.sasl}' mechanism='PLAIN'>${b64("\0alice\0wonderland")}</auth>`,
    );
    assert.ok(ok.children.some((e) => e.name === "success"), ok.text);
    await c.terminate();
  });
});

Deno.test("bosh: a request ahead of a gap waits until the gap fills, then both are answered in order", async () => {
  await withBosh({}, async (s) => {
    const c = new BoshClient(s.url);
    await c.create();
    await c.stanza((e) => e.name === "stream:features");
    const ridAuth = c.rid++;
    const ridRestart = c.rid++;
    // The restart arrives first: it must wait for the authentication before it.
    const restart = c.request(
      "",
      { to: "localhost", "xmpp:restart": "true", "xmlns:xmpp": "urn:xmpp:xbosh" },
      ridRestart,
    );
    assert.ok(await stillPending(restart), "the request after the gap was answered early");
    const auth = c.request(
      `<auth xmlns='${NS.sasl}' mechanism='PLAIN'>${b64("\0alice\0wonderland")}</auth>`,
      {},
      ridAuth,
    );
    await Promise.all([auth, restart]);
    const success = await c.stanza((e) => e.name === "success" || e.name === "failure");
    assert.equal(success.name, "success");
    const features = await c.stanza((e) => e.name === "stream:features");
    assert.ok(features.getChild("bind", NS.bind), "restart processed before authentication");
    await c.terminate();
  });
});

Deno.test("bosh: a rid outside the window ends the session with item-not-found", async () => {
  await withBosh({}, async (s) => {
    const c = new BoshClient(s.url);
    await c.create();
    const reply = await c.request("", {}, c.rid + 5);
    assert.equal(reply.attrs.type, "terminate");
    assert.equal(reply.attrs.condition, "item-not-found");
    const after = await postBody(s.url, c.body());
    assert.equal(after.attrs.type, "terminate");
    assert.equal(s.handler.sessions.size, 0);
  });
});

Deno.test("bosh: terminate from the client ends the session; its directed presence goes unavailable", async () => {
  await withBosh({}, async (s) => {
    const bob = await tcpLogin(s, "bob", "builder", "tcp");
    try {
      const alice = new BoshClient(s.url);
      await alice.login("alice", "wonderland", "web", false);
      alice.send("<presence xmlns='jabber:client' to='bob@localhost/tcp'/>");
      await bob.stanza((e) => e.name === "presence" && e.attrs.from === "alice@localhost/web");
      const reply = await alice.terminate();
      assert.equal(reply.attrs.type, "terminate");
      assert.equal(reply.attrs.condition, undefined);
      const gone = await bob.stanza((e) => e.name === "presence" && e.attrs.type === "unavailable");
      assert.equal(gone.attrs.from, "alice@localhost/web");
      assert.equal(s.handler.sessions.size, 0);
      const after = await postBody(s.url, alice.body());
      assert.equal(after.attrs.condition, "item-not-found");
    } finally {
      bob.close();
    }
  });
});

Deno.test("bosh: a client that stops making requests is gone after the inactivity timeout", async () => {
  await withBosh({ bosh: { maxWaitSeconds: 1, maxInactivitySeconds: 1 } }, async (s) => {
    const bob = await tcpLogin(s, "bob", "builder", "tcp");
    try {
      const alice = new BoshClient(s.url);
      await alice.login("alice", "wonderland", "web", false);
      alice.send("<presence xmlns='jabber:client' to='bob@localhost/tcp'/>");
      await bob.stanza((e) => e.name === "presence" && e.attrs.from === "alice@localhost/web");
      await alice.stopPolling();
      await alice.settled();
      const gone = await bob.stanza(
        (e) => e.name === "presence" && e.attrs.type === "unavailable",
        10_000,
      );
      assert.equal(gone.attrs.from, "alice@localhost/web");
      const after = await postBody(s.url, alice.body());
      assert.equal(after.attrs.type, "terminate");
      assert.equal(after.attrs.condition, "item-not-found");
    } finally {
      bob.close();
    }
  });
});

Deno.test("bosh: CORS for configured origins only, preflight answered", async () => {
  await withBosh({ bosh: { corsOrigins: ["https://chat.example.net"] } }, async (s) => {
    const allowed = await fetch(s.url, {
      method: "OPTIONS",
      headers: {
        origin: "https://chat.example.net",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    await allowed.body?.cancel();
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get("access-control-allow-origin"), "https://chat.example.net");
    assert.match(allowed.headers.get("access-control-allow-methods") ?? "", /POST/);
    assert.match(allowed.headers.get("access-control-allow-headers") ?? "", /content-type/i);

    const other = await fetch(s.url, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    await other.body?.cancel();
    assert.equal(other.headers.get("access-control-allow-origin"), null);

    const c = new BoshClient(s.url);
    c.headers.origin = "https://chat.example.net";
    const reply = await c.create();
    assert.equal(reply.headers.get("access-control-allow-origin"), "https://chat.example.net");
    await c.terminate();
  });
});

Deno.test("bosh: broken bodies are refused with bad-request, oversized ones with 413", async () => {
  await withBosh({ bosh: { maxBodyBytes: 4096 } }, async (s) => {
    const bad = await postBody(s.url, "<body xmlns='http://jabber.org/protocol/httpbind' rid='1'");
    assert.equal(bad.attrs.condition, "bad-request");
    const dtd = await postBody(
      s.url,
      "<!DOCTYPE x><body xmlns='http://jabber.org/protocol/httpbind' rid='1'/>",
    );
    assert.equal(dtd.attrs.condition, "bad-request");
    const wrongRoot = await postBody(s.url, "<iq xmlns='jabber:client' rid='1'/>");
    assert.equal(wrongRoot.attrs.condition, "bad-request");
    const big = await postBody(s.url, "<body>" + "x".repeat(5000) + "</body>");
    assert.equal(big.status, 413);
    // No Content-Length: a chunked body is cut at bosh.maxBodyBytes as it arrives.
    const chunks = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 5; i++) c.enqueue(new TextEncoder().encode("x".repeat(1000)));
        c.close();
      },
    });
    const streamed = await fetch(s.url, { method: "POST", body: chunks });
    assert.equal(streamed.status, 413);
    await streamed.body?.cancel();
    const unknownSid = await postBody(
      s.url,
      "<body xmlns='http://jabber.org/protocol/httpbind' rid='5' sid='nope'/>",
    );
    assert.equal(unknownSid.attrs.condition, "item-not-found");
  });
});

Deno.test("bosh: a stream error ends the session as remote-stream-error carrying it", async () => {
  await withBosh({}, async (s) => {
    const c = new BoshClient(s.url, "nowhere.example");
    const reply = await c.create();
    assert.equal(reply.attrs.type, "terminate");
    assert.equal(reply.attrs.condition, "remote-stream-error");
    const error = reply.children.find((e) => e.name === "stream:error");
    assert.ok(error?.getChild("host-unknown", NS.streams), reply.text);
    assert.match(reply.text, /xmlns:stream='http:\/\/etherx.jabber.org\/streams'/);
    assert.equal(s.handler.sessions.size, 0);
  });
});

Deno.test("bosh: with acks, an answer to an older request acknowledges the newest one", async () => {
  await withBosh({}, async (s) => {
    const c = new BoshClient(s.url);
    await c.create({ ack: "1" });
    await c.stanza((e) => e.name === "stream:features");
    const older = c.rid;
    const held = c.request(); // nothing to send: held
    assert.ok(await stillPending(held));
    const newer = c.rid;
    const next = c.request(); // takes the held slot: the older one is answered
    const answered = await held;
    assert.equal(answered.attrs.ack, String(newer));
    assert.equal(answered.attrs.type, undefined);
    assert.ok(older < newer);
    await c.terminate();
    await next;
  });
});

Deno.test("bosh: pause answers the held requests at once", async () => {
  await withBosh({}, async (s) => {
    const c = new BoshClient(s.url);
    await c.login("alice", "wonderland", "web", false);
    const stopped = c.stopPolling(); // resolves once the held poll is answered
    const paused = await c.request("", { pause: "600" });
    assert.equal(paused.attrs.type, undefined);
    await stopped; // the poll held before the pause was answered too
    const reply = await c.terminate();
    assert.equal(reply.attrs.type, "terminate");
  });
});

Deno.test("bosh: sessions per IP and stanzas per body are limited", async () => {
  await withBosh({ bosh: { maxSessionsPerIp: 1, maxStanzasPerBody: 2 } }, async (s) => {
    const first = new BoshClient(s.url);
    await first.create();
    const second = new BoshClient(s.url);
    const refused = await second.create();
    assert.equal(refused.attrs.condition, "policy-violation");
    const three = "<presence xmlns='jabber:client'/>".repeat(3);
    const reply = await first.request(three);
    assert.equal(reply.attrs.condition, "policy-violation");
    assert.equal(s.handler.sessions.size, 0);
  });
});

Deno.test("bosh: an offline burst larger than the output mark reaches a BOSH client", async () => {
  // A quarter of maxOutputBytes is where the offline burst waits for the
  // client to read: the polls that carry it must be held meanwhile.
  await withBosh({ c2s: { maxOutputBytes: 65536 } }, async (s) => {
    const bob = await tcpLogin(s, "bob", "builder", "tcp");
    try {
      const text = "x".repeat(1000);
      for (let i = 0; i < 40; i++) {
        bob.send(
          `<message to='alice@localhost' type='chat' id='m${i}'><body>${i} ${text}</body></message>`,
        );
      }
      // A round trip: everything before it has been stored.
      bob.send("<iq type='get' id='sync'><ping xmlns='urn:xmpp:ping'/></iq>");
      await bob.stanza((e) => e.attrs.id === "sync");
      const alice = new BoshClient(s.url);
      await alice.login("alice", "wonderland", "web");
      for (let i = 0; i < 40; i++) {
        const m = await alice.stanza((e) => e.name === "message" && e.attrs.id === `m${i}`);
        assert.equal(m.getChildText("body"), `${i} ${text}`);
      }
      await alice.terminate();
    } finally {
      bob.close();
    }
  });
});
