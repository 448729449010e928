import { stubConnection } from "../helpers/stub_connection.ts";
import { XmlStreamTransport } from "../../src/stream/xml_stream.ts";
import assert from "node:assert/strict";
import { Host } from "../../src/core/host.ts";
import { Router, type StanzaEvent } from "../../src/core/router.ts";
import { SessionRegistry } from "../../src/core/sessions.ts";
import { Session } from "../../src/core/session.ts";
import { installDelivery } from "../../src/core/delivery.ts";
import { EventHub, whenDone } from "../../src/core/events.ts";
import { el } from "../../src/xml/element.ts";

function setup() {
  const out: string[] = [];
  const conn = stubConnection((d) => void out.push(d));
  const host = new Host({ domain: "example.org", modules: [], admins: [] });
  const router = new Router(new Map([["example.org", host]]));
  const sessions = new SessionRegistry({
    conflict: "replace",
    maxResourcesPerUser: 4,
    dispatch: (s, st) => router.fromClient(s, st),
  });
  sessions.addHost("example.org", host.events);
  installDelivery(host, { router, sessions });
  const session = new Session("s1", {
    transport: new XmlStreamTransport(conn),
    close() {},
    adopt() {},
  });
  session.type = "c2s";
  session.host = "example.org";
  session.username = "juliet";
  sessions.bind(session, "balcony");
  return { out, host, router, session };
}

Deno.test("a handler that throws costs the stanza an internal-server-error, not the stream", () => {
  const { out, host, router, session } = setup();
  host.events.on("iq-get/host/urn:x:boom:boom", () => {
    throw new Error("bug");
  });
  router.fromClient(
    session,
    el("iq", { type: "get", id: "1", to: "example.org" }, el("boom", { xmlns: "urn:x:boom" })),
  );
  assert.equal(out.length, 1);
  assert.match(out[0], /type='error'/);
  assert.match(out[0], /internal-server-error/);
});

Deno.test("an async handler's rejection is answered too", async () => {
  const { out, host, router, session } = setup();
  host.events.on("iq-get/host/urn:x:slow:slow", () => Promise.reject(new Error("bug")));
  router.fromClient(
    session,
    el("iq", { type: "get", id: "2", to: "example.org" }, el("slow", { xmlns: "urn:x:slow" })),
  );
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(out.length, 1);
  assert.match(out[0], /internal-server-error/);
});

Deno.test("a message to the own bare JID with no resource available is refused, not looped", () => {
  const { out, router, session } = setup();
  router.fromClient(session, el("message", { id: "m", type: "chat" }, el("body", {}, "note")));
  assert.equal(out.length, 1);
  assert.match(out[0], /service-unavailable/);
});

Deno.test("event handlers run by priority and stop at the first true", async () => {
  const hub = new EventHub();
  const calls: string[] = [];
  hub.on("e", () => void calls.push("low"), -1);
  hub.on("e", () => {
    calls.push("high");
  }, 10);
  hub.on("e", () => {
    calls.push("mid");
    return Promise.resolve(true);
  }, 5);
  const r = hub.fire("e", {});
  assert.ok(r instanceof Promise);
  assert.equal(await r, true);
  assert.deepEqual(calls, ["high", "mid"]);
  assert.equal(hub.fire("nothing", {}), false);
});

Deno.test("a malformed iq result is dropped, never answered with an error (RFC 6120 §8.2.3)", () => {
  const { out, router, session } = setup();
  router.fromClient(session, el("iq", { type: "result", to: "example.org" }));
  router.fromClient(session, el("iq", { type: "error", to: "example.org" }));
  assert.equal(out.length, 0);
  // A malformed get still is answered.
  router.fromClient(session, el("iq", { type: "get", to: "example.org" }));
  assert.equal(out.length, 1);
  assert.match(out[0], /bad-request/);
});

Deno.test("a message whose handler throws, sync or async, is dropped; the sender's stream stays", async () => {
  const { out, host, router, session } = setup();
  host.events.on("message/bare", (ev: StanzaEvent) => {
    if (ev.stanza.attrs.id === "sync") throw new Error("bug");
    return Promise.reject(new Error("async bug"));
  }, 10);
  router.fromClient(session, el("message", { to: "romeo@example.org", id: "sync" }));
  router.fromClient(session, el("message", { to: "romeo@example.org", id: "async" }));
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(out, []);
  assert.equal(session.destroyed, false);
});

Deno.test("a failure while answering a failure is logged, never thrown nor left unhandled", async () => {
  const { out, host, router, session } = setup();
  // The reply path is broken too: every write to the sender throws.
  session.transport!.send = () => {
    throw new RangeError("broken writer");
  };
  host.events.on("iq-get/host/urn:x:boom:boom", () => {
    throw new Error("bug");
  });
  host.events.on("iq-get/host/urn:x:slow:slow", () => Promise.reject(new Error("bug")));
  // An async pre-* handler: dispatch continues inside a promise callback.
  host.events.on("pre-iq/host", () => Promise.resolve(false));
  for (const name of ["boom", "slow"]) {
    router.fromClient(
      session,
      el("iq", { type: "get", id: name, to: "example.org" }, el(name, { xmlns: `urn:x:${name}` })),
    );
  }
  // A deno test fails on an unhandled rejection; give the async paths time to settle.
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(out, []);
});

Deno.test("whenDone hands a throw in its continuation to onError, and logs a throwing onError", async () => {
  const errors: string[] = [];
  whenDone(Promise.resolve(true), () => {
    throw new Error("then");
  }, (err) => void errors.push((err as Error).message));
  whenDone(Promise.reject(new Error("rejected")), () => {}, (err) => {
    errors.push((err as Error).message);
    throw new Error("onError");
  });
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(errors.sort(), ["rejected", "then"]);
});

Deno.test("fromClient and fromPeer return a promise while handling goes on, settled when it is done (streams count it)", async () => {
  const { out, host, router, session } = setup();
  const gate = Promise.withResolvers<void>();
  host.events.on("iq-set/host/urn:x:slow:q", async () => {
    await gate.promise;
    return false;
  });
  host.events.on("iq-get/host/urn:x:fast:q", () => true);
  const slow = (id: string) =>
    el("iq", { type: "set", id, to: "example.org" }, el("q", { xmlns: "urn:x:slow" }));
  const fast = el(
    "iq",
    { type: "get", id: "f", to: "example.org" },
    el("q", { xmlns: "urn:x:fast" }),
  );
  assert.equal(router.fromClient(session, fast), undefined, "handled at once: nothing to wait for");
  const fromClient = router.fromClient(session, slow("c"));
  const fromPeer = router.fromPeer(
    el(
      "iq",
      { type: "set", id: "p", from: "a@remote.example", to: "example.org" },
      el("q", {
        xmlns: "urn:x:slow",
      }),
    ),
  );
  assert.ok(fromClient instanceof Promise);
  assert.ok(fromPeer instanceof Promise);
  let settled = 0;
  void fromClient.then(() => settled++);
  void fromPeer.then(() => settled++);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(settled, 0);
  gate.resolve();
  await Promise.all([fromClient, fromPeer]);
  assert.equal(settled, 2);
  // Both unhandled in the end: the client's answered service-unavailable.
  assert.ok(out.some((x) => /id='c'/.test(x) && /service-unavailable/.test(x)));
});
