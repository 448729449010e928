/**
 * A stream has at most a bounded number of stanzas in the works: while
 * handlers wait (storage, a per-user queue), more stanzas from the same
 * peer wait in its input instead of piling up work and memory without
 * end. Found by flooding roster sets: each queued a job in the user's
 * roster queue faster than the queue drained.
 */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { connectComponent } from "../helpers/component.ts";
import { MAX_STANZAS_IN_FLIGHT } from "../../src/stream/in_flight.ts";
import { fakeHeader, FakeS2sServer } from "../helpers/s2s_peer.ts";
import { NS_BIDI_FEATURE, NS_DIALBACK_FEATURE } from "../../src/s2s/common.ts";
import { el } from "../../src/xml/element.ts";

const NS_SLOW = "urn:example:slow";
const COMPONENT = "bots.localhost";
const SECRET = "s3cret";
const SENT = 200;

/** A handler that waits until released; counts the stanzas it has started. */
function installSlowHandler(server: TestServer) {
  const gate = Promise.withResolvers<void>();
  const state = { started: 0, release: () => gate.resolve() };
  server.hosts.get("localhost")!.events.on(`iq-set/host/${NS_SLOW}:q`, async () => {
    state.started++;
    await gate.promise;
    return false; // unhandled: the router answers service-unavailable
  });
  return state;
}

async function settle(state: { started: number }): Promise<void> {
  // Long enough for every sent stanza to have reached the server and a handler.
  for (let i = 0, last = -1; i < 40 && state.started !== last; i++) {
    last = state.started;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function answered(c: TestClient, prefix: string): Promise<number> {
  const ids = new Set<string>();
  for (let i = 0; i < 400 && ids.size < SENT; i++) {
    const e = await c.stanza((s) =>
      s.name === "iq" && (s.attrs.id ?? "").startsWith(prefix) && !ids.has(s.attrs.id!)
    );
    ids.add(e.attrs.id!);
  }
  return ids.size;
}

Deno.test("c2s: a client's stanzas waiting on slow handlers are bounded; the rest are handled once they finish", async () => {
  const server = await startTestServer();
  const slow = installSlowHandler(server);
  try {
    const alice = await TestClient.login({
      port: server.ports.c2s,
      user: "alice",
      password: "wonderland",
      presence: false,
    });
    let burst = "";
    for (let i = 0; i < SENT; i++) {
      burst += `<iq type='set' id='s${i}' to='localhost'><q xmlns='${NS_SLOW}'/></iq>`;
    }
    alice.send(burst);
    await settle(slow);
    assert.ok(
      slow.started <= MAX_STANZAS_IN_FLIGHT,
      `${slow.started} stanzas in the works at once (limit ${MAX_STANZAS_IN_FLIGHT})`,
    );
    slow.release();
    assert.equal(await answered(alice, "s"), SENT, "every stanza is answered in the end");
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("component: a component's stanzas waiting on slow handlers are bounded too", async () => {
  const server = await startTestServer({ components: { [COMPONENT]: { secret: SECRET } } });
  const slow = installSlowHandler(server);
  try {
    const c = await connectComponent(server, COMPONENT, SECRET);
    let burst = "";
    for (let i = 0; i < SENT; i++) {
      burst += `<iq type='set' id='c${i}' from='${COMPONENT}' to='localhost'>` +
        `<q xmlns='${NS_SLOW}'/></iq>`;
    }
    c.send(burst);
    await settle(slow);
    // Server links carry many users' traffic: four times a client's share.
    assert.ok(
      slow.started <= 4 * MAX_STANZAS_IN_FLIGHT,
      `${slow.started} stanzas in the works at once`,
    );
    slow.release();
    assert.equal(await answered(c, "c"), SENT);
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("s2s out: a peer's stanzas over our bidirectional stream (XEP-0288) waiting on slow handlers are bounded too", async () => {
  const server = await startTestServer({ s2s: { requireEncryption: false } });
  const slow = installSlowHandler(server);
  let burst = "";
  for (let i = 0; i < SENT; i++) {
    burst +=
      `<iq type='set' id='b${i}' from='u${i}@far.test' to='localhost'><q xmlns='${NS_SLOW}'/></iq>`;
  }
  // far.test offers bidi and dialback in the clear, says valid, then floods its iqs back
  // over the stream we opened.
  const fake = await FakeS2sServer.start((text, s) => {
    if (text.includes("<stream:stream")) {
      s.write(
        fakeHeader("far.test", "f1") +
          `<stream:features><dialback xmlns='${NS_DIALBACK_FEATURE}'><errors/></dialback>` +
          `<bidi xmlns='${NS_BIDI_FEATURE}'/></stream:features>`,
      );
    }
    if (text.includes("<db:result")) {
      s.write(`<db:result from='far.test' to='localhost' type='valid'/>` + burst);
    }
  });
  server.config.s2s.hosts["far.test"] = fake.route;
  try {
    server.s2s!.manager.send(
      "localhost",
      "far.test",
      el("presence", { from: "localhost", to: "far.test" }),
    );
    await fake.until((r) => r.includes("<presence"));
    await settle(slow);
    assert.ok(
      slow.started <= 4 * MAX_STANZAS_IN_FLIGHT,
      `${slow.started} stanzas in the works at once`,
    );
    slow.release();
    await fake.until((r) => (r.match(/<iq /g) ?? []).length === SENT);
  } finally {
    await fake.close();
    await server.stop();
  }
});
