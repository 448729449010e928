/**
 * External components across federation (XEP-0114 + RFC 6120 s2s): a
 * component comp.a.test on a.test talks with bob@b.test on another
 * Parley. Outgoing, a.test opens the s2s stream as comp.a.test (dialback
 * authenticates that domain, so b.test connects back to comp.a.test,
 * routed by `s2s.hosts` to a.test's s2s port); incoming, a.test accepts
 * streams, dialback and stanzas for comp.a.test and hands them to the
 * component's link.
 */
import assert from "node:assert/strict";
import { errorCondition } from "../helpers/client.ts";
import type { TestServer } from "../helpers/server.ts";
import { loginAt, serverPair } from "../helpers/federation.ts";
import { connectComponent } from "../helpers/component.ts";

const COMPONENT = "comp.a.test";
const SECRET = "s3cret";

/** a.test with the component configured, b.test routing a.test and comp.a.test to a. */
function pair(): Promise<[TestServer, TestServer]> {
  return serverPair({ components: { [COMPONENT]: { secret: SECRET } } }, {}, [COMPONENT]);
}

const loginBob = (b: TestServer) => loginAt(b, "bob", "builder", "b.test");

Deno.test("component over s2s: the component and a remote user exchange messages", async () => {
  const [a, b] = await pair();
  const comp = await connectComponent(a, COMPONENT, SECRET);
  const bob = await loginBob(b);
  try {
    // The component speaks first: a.test connects to b.test as comp.a.test, and b.test
    // checks the dialback key by connecting back to comp.a.test.
    comp.send(
      `<message from='bot@${COMPONENT}' to='bob@b.test/r' type='chat' id='out1'>` +
        `<body>hi bob</body></message>`,
    );
    const reply = await bob.stanza((e) => e.name === "message" && e.attrs.id === "out1");
    assert.equal(reply.attrs.from, `bot@${COMPONENT}`);
    assert.equal(reply.getChildText("body"), "hi bob");

    bob.send(`<message to='bot@${COMPONENT}' type='chat' id='in1'><body>hi bot</body></message>`);
    const got = await comp.stanza((e) => e.name === "message" && e.attrs.id === "in1");
    assert.equal(got.attrs.from, "bob@b.test/r");
    assert.equal(got.attrs.to, `bot@${COMPONENT}`);
    assert.equal(got.getChildText("body"), "hi bot");

    // a.test's stream to b.test for the component's stanzas is authenticated as the component.
    assert.equal(a.s2s!.manager.outgoing(COMPONENT, "b.test")?.ready, true);
    assert.equal(a.s2s!.manager.outgoing("a.test", "b.test"), undefined);
  } finally {
    comp.close();
    bob.close();
    await a.stop();
    await b.stop();
  }
});

Deno.test("component over s2s: an iq from a remote user is answered by the component", async () => {
  const [a, b] = await pair();
  const comp = await connectComponent(a, COMPONENT, SECRET);
  const bob = await loginBob(b);
  try {
    bob.send(`<iq to='${COMPONENT}' type='get' id='q1'><ping xmlns='urn:xmpp:ping'/></iq>`);
    const iq = await comp.stanza((e) => e.name === "iq" && e.attrs.id === "q1");
    assert.equal(iq.attrs.from, "bob@b.test/r");
    assert.equal(iq.attrs.type, "get");
    comp.send(`<iq from='${COMPONENT}' to='bob@b.test/r' type='result' id='q1'/>`);
    const result = await bob.stanza((e) => e.name === "iq" && e.attrs.id === "q1");
    assert.equal(result.attrs.type, "result");
    assert.equal(result.attrs.from, COMPONENT);
  } finally {
    comp.close();
    bob.close();
    await a.stop();
    await b.stop();
  }
});

Deno.test("component over s2s: to a disconnected component bounces service-unavailable", async () => {
  const [a, b] = await pair();
  const bob = await loginBob(b);
  try {
    bob.send(`<message to='bot@${COMPONENT}' type='chat' id='gone'><body>?</body></message>`);
    const err = await bob.stanza((e) => e.name === "message" && e.attrs.id === "gone");
    assert.equal(err.attrs.type, "error");
    assert.equal(err.attrs.from, `bot@${COMPONENT}`);
    assert.equal(errorCondition(err), "service-unavailable", err.toString());
  } finally {
    bob.close();
    await a.stop();
    await b.stop();
  }
});
