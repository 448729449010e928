import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";
import {
  authenticateXml,
  connectTls,
  plainResponse,
  sasl2Answer,
  scramSasl2,
} from "../helpers/sasl2.ts";
import { NS } from "../../src/xml/namespaces.ts";
import type { TestServer } from "../helpers/server.ts";

const CARBONS = "urn:xmpp:carbons:2";
const CSI = "urn:xmpp:csi:0";
const UA = "d4565fa7-4d72-4749-b3d3-740edbf87770";

/** Sessions of `jid` on the server (carbons flag, CSI held output). */
function sessionOf(server: TestServer, jid: string) {
  return server.sessions.full(jid, "localhost");
}

Deno.test("SASL2 feature: same mechanisms as SASL1, inline bind2 with SM, carbons, CSI", async () => {
  const server = await startTestServer();
  try {
    const c = await connectTls(server.ports.c2sDirectTls);
    const auth = c.features!.getChild("authentication", NS.sasl2)!;
    assert.ok(auth, "authentication feature offered");
    assert.deepEqual(auth.getChildren("mechanism").map((m) => m.text()), c.mechanisms());
    const inline = auth.getChild("inline")!;
    const vars = inline.getChild("bind", NS.bind2)!.getChild("inline")!.getChildren("feature")
      .map((f) => f.attrs.var);
    for (const ns of [NS.sm, CARBONS, CSI]) assert.ok(vars.includes(ns), ns);
    assert.ok(inline.getChild("sm", NS.sm), "SM resumption inline");
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("SASL2 + Bind2 with inline SM and carbons in one round trip after the features", async () => {
  const server = await startTestServer();
  try {
    const c = await connectTls(server.ports.c2sDirectTls);
    let roundTrips = 0;
    c.send(authenticateXml({
      mechanism: "PLAIN",
      initial: plainResponse("alice", "wonderland"),
      userAgentId: UA,
      inline: `<bind xmlns='${NS.bind2}'><tag>Tester</tag>` +
        `<enable xmlns='${NS.sm}' resume='true'/><enable xmlns='${CARBONS}'/>` +
        `<inactive xmlns='${CSI}'/></bind>`,
    }));
    const success = await sasl2Answer(c);
    roundTrips++;
    assert.equal(success.name, "success", success.toString());
    const jid = success.getChildText("authorization-identifier")!;
    assert.match(jid, /^alice@localhost\/Tester\.[0-9a-f]{8}$/);
    const bound = success.getChild("bound", NS.bind2)!;
    const enabled = bound.getChild("enabled", NS.sm)!;
    assert.equal(enabled.attrs.resume, "true");
    assert.ok(enabled.attrs.id);
    assert.equal(roundTrips, 1, "one round trip from features to a usable session");
    // XEP-0388: success is followed at once by the authenticated stream's features
    // (no restart); bound already, so no <bind/>, but CSI is offered there.
    const after = await c.stanza((e) => e.name === "stream:features");
    assert.equal(after.getChild("bind", "urn:ietf:params:xml:ns:xmpp-bind"), undefined);
    assert.ok(after.getChild("csi", CSI), after.toString());
    // SM is on (enabled inline): offering <sm/> again would invite a second enable or
    // resume on this stream (xmpp.js sends one), as Prosody does not.
    assert.equal(after.getChild("sm", NS.sm), undefined, after.toString());
    // No restart: the session is usable at once.
    c.send(`<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>`);
    const pong = await c.stanza((e) => e.name === "iq" && e.attrs.id === "p1");
    assert.equal(pong.attrs.type, "result");
    const session = sessionOf(server, jid)!;
    assert.equal(session.ext.get("carbons"), true, "carbons enabled inline");
    assert.ok(session.filter, "CSI inactive inline");
    c.close();

    // The same user agent gets the same resource; another one another.
    const again = await connectTls(server.ports.c2sDirectTls);
    again.send(authenticateXml({
      mechanism: "PLAIN",
      initial: plainResponse("alice", "wonderland"),
      userAgentId: UA,
      inline: `<bind xmlns='${NS.bind2}'><tag>Tester</tag></bind>`,
    }));
    assert.equal((await sasl2Answer(again)).getChildText("authorization-identifier"), jid);
    const other = await connectTls(server.ports.c2sDirectTls);
    other.send(authenticateXml({
      mechanism: "PLAIN",
      initial: plainResponse("alice", "wonderland"),
      userAgentId: "another-install",
      inline: `<bind xmlns='${NS.bind2}'><tag>Tester</tag></bind>`,
    }));
    const otherJid = (await sasl2Answer(other)).getChildText("authorization-identifier");
    assert.notEqual(otherJid, jid);
    assert.match(otherJid!, /^alice@localhost\/Tester\./);
    again.close();
    other.close();
  } finally {
    await server.stop();
  }
});

Deno.test("SASL2 SCRAM: challenge/response, server-final in additional-data, bare JID without bind", async () => {
  const server = await startTestServer();
  try {
    for (const mechanism of ["SCRAM-SHA-1", "SCRAM-SHA-256"] as const) {
      const c = await connectTls(server.ports.c2sDirectTls);
      const { answer, roundTrips } = await scramSasl2(c, mechanism, "bob", "builder", {
        userAgentId: UA,
      });
      assert.equal(answer.name, "success", answer.toString());
      assert.equal(roundTrips, 2);
      assert.equal(answer.getChildText("authorization-identifier"), "bob@localhost");
      // Not bound yet: RFC 6120 binding still works on the same stream (no restart).
      const bound = await c.bind("manual");
      assert.equal(bound.attrs.type, "result");
      assert.equal(c.jid, "bob@localhost/manual");
      c.close();
    }
  } finally {
    await server.stop();
  }
});

Deno.test("SASL2 failure: condition and text in the SASL2 namespace; abort; next without continue", async () => {
  const server = await startTestServer();
  try {
    const c = await connectTls(server.ports.c2sDirectTls);
    c.send(authenticateXml({ mechanism: "PLAIN", initial: plainResponse("alice", "wrong") }));
    const failure = await sasl2Answer(c);
    assert.equal(failure.name, "failure");
    assert.ok(failure.getChild("not-authorized", NS.sasl));
    c.send(authenticateXml({ mechanism: "NOPE", initial: "=" }));
    assert.ok((await sasl2Answer(c)).getChild("invalid-mechanism", NS.sasl));
    c.send(`<next xmlns='${NS.sasl2}' task='HOTP'/>`);
    const next = await sasl2Answer(c);
    assert.equal(next.name, "failure");
    assert.ok(next.getChild("malformed-request", NS.sasl));
    c.send(authenticateXml({ mechanism: "SCRAM-SHA-256" }));
    assert.equal((await sasl2Answer(c)).name, "challenge");
    c.send(`<abort xmlns='${NS.sasl2}'/>`);
    assert.ok((await sasl2Answer(c)).getChild("aborted", NS.sasl));
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("SASL2 inline SM resumption: <resumed/> inside <success/>, missed stanzas resent", async () => {
  const server = await startTestServer();
  try {
    const c = await connectTls(server.ports.c2sDirectTls);
    c.send(authenticateXml({
      mechanism: "PLAIN",
      initial: plainResponse("alice", "wonderland"),
      userAgentId: UA,
      inline:
        `<bind xmlns='${NS.bind2}'><tag>Tester</tag><enable xmlns='${NS.sm}' resume='true'/></bind>`,
    }));
    const first = await sasl2Answer(c);
    const jid = first.getChildText("authorization-identifier")!;
    const id = first.getChild("bound", NS.bind2)!.getChild("enabled", NS.sm)!.attrs.id;
    c.send("<presence/>");
    // Drop the connection without closing the stream: the session hibernates.
    c.socket.destroy();
    const bob = await connectTls(server.ports.c2sDirectTls);
    bob.send(authenticateXml({
      mechanism: "PLAIN",
      initial: plainResponse("bob", "builder"),
      inline: `<bind xmlns='${NS.bind2}'/>`,
    }));
    await sasl2Answer(bob);
    bob.send(`<message to='${jid}' type='chat' id='m1'><body>while away</body></message>`);
    await new Promise((r) => setTimeout(r, 100));

    const back = await connectTls(server.ports.c2sDirectTls);
    back.send(authenticateXml({
      mechanism: "PLAIN",
      initial: plainResponse("alice", "wonderland"),
      userAgentId: UA,
      inline: `<resume xmlns='${NS.sm}' previd='${id}' h='0'/>` +
        `<bind xmlns='${NS.bind2}'><tag>Tester</tag></bind>`,
    }));
    const success = await sasl2Answer(back);
    assert.equal(success.name, "success");
    assert.ok(success.getChild("resumed", NS.sm), success.toString());
    assert.equal(success.getChild("bound", NS.bind2), undefined, "resumed: no new binding");
    assert.equal(success.getChildText("authorization-identifier"), jid);
    const resent = await back.stanza((e) => e.name === "message" && e.attrs.id === "m1");
    assert.equal(resent.getChildText("body"), "while away");
    back.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("SASL2 shares SASL1's throttle: failures of both count, past the limit the right password is refused", async () => {
  // Defaults: 5 failures per (account, address).
  const server = await startTestServer();
  try {
    const first = await connectTls(server.ports.c2sDirectTls);
    for (let i = 0; i < 3; i++) {
      const f = await first.auth("PLAIN", "alice", `guess${i}`);
      assert.ok(f.getChild("not-authorized"), f.toString());
    }
    first.close();
    const second = await connectTls(server.ports.c2sDirectTls);
    for (let i = 3; i < 5; i++) {
      second.send(
        authenticateXml({ mechanism: "PLAIN", initial: plainResponse("alice", `g${i}`) }),
      );
      assert.ok((await sasl2Answer(second)).getChild("not-authorized", NS.sasl));
    }
    second.send(
      authenticateXml({ mechanism: "PLAIN", initial: plainResponse("alice", "wonderland") }),
    );
    const refused = await sasl2Answer(second);
    assert.equal(refused.name, "failure");
    assert.ok(refused.getChild("temporary-auth-failure", NS.sasl), refused.toString());
    // RFC 6120 §6.4.5's attempt limit (5 per connection) applies to SASL2 too.
    for (let i = 0; i < 2; i++) {
      second.send(authenticateXml({ mechanism: "PLAIN", initial: plainResponse("alice", "x") }));
    }
    assert.equal(await second.streamError(), "policy-violation");
  } finally {
    await server.stop();
  }
});

Deno.test("Bind2: a feature requested twice is handled once (one <enabled/>, no answer per copy)", async () => {
  const server = await startTestServer();
  try {
    const c = await connectTls(server.ports.c2sDirectTls);
    const enable = `<enable xmlns='${NS.sm}' resume='true'/>`;
    c.send(authenticateXml({
      mechanism: "PLAIN",
      initial: plainResponse("alice", "wonderland"),
      userAgentId: UA,
      inline: `<bind xmlns='${NS.bind2}'><tag>Tester</tag>${enable.repeat(50)}</bind>`,
    }));
    const success = await sasl2Answer(c);
    assert.equal(success.name, "success", success.toString());
    const bound = success.getChild("bound", NS.bind2)!;
    assert.equal(bound.getChildren().length, 1, bound.toString());
    assert.equal(bound.getChildren()[0].name, "enabled");
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("An exchange SASL2 started is not finished over SASL1 (its inline requests would be lost)", async () => {
  const server = await startTestServer();
  try {
    const c = await connectTls(server.ports.c2sDirectTls);
    c.send(authenticateXml({
      mechanism: "SCRAM-SHA-256",
      initial: btoa("n,,n=alice,r=abcdefgh"),
      inline: `<bind xmlns='${NS.bind2}'/>`,
    }));
    const challenge = await sasl2Answer(c);
    assert.equal(challenge.name, "challenge", challenge.toString());
    c.send(`<response xmlns='${NS.sasl}'>${btoa("c=biws,r=x,p=AAAA")}</response>`);
    const answer = await c.stanza((e) => e.name === "failure" || e.name === "success");
    assert.equal(answer.name, "failure", answer.toString());
    assert.ok(answer.getChild("malformed-request"), answer.toString());
    // Nothing is left running: a SASL2 response now has no exchange either.
    c.send(`<response xmlns='${NS.sasl2}'>${btoa("c=biws,r=x,p=AAAA")}</response>`);
    assert.equal((await sasl2Answer(c)).name, "failure");
    c.close();
  } finally {
    await server.stop();
  }
});
