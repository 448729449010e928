import assert from "node:assert/strict";
import { el, type Element } from "../../src/xml/element.ts";
import { EventHub } from "../../src/core/events.ts";
import { StanzaError } from "../../src/core/errors.ts";
import { ProviderRegistry } from "../../src/core/providers.ts";
import { IqTimeoutError } from "../../src/core/send_iq.ts";
import { DOMAIN, keepAlive, moduleHarness, settle } from "../helpers/module_harness.ts";

const NS_X = "urn:x:test";
const get = (id: string, to?: string) =>
  el("iq", { type: "get", id, to }, el("q", { xmlns: NS_X }));

// ---- events ------------------------------------------------------------

Deno.test("a remover takes away its own registration only, once", () => {
  const hub = new EventHub();
  let calls = 0;
  const fn = () => void calls++;
  const first = hub.on("x-test", fn);
  hub.on("x-test", fn);
  first();
  first();
  hub.fire("x-test", {});
  assert.equal(calls, 1);
});

Deno.test("hook returns its remover; disposing the registrations removes every hook", () => {
  const { host, api } = moduleHarness();
  const { api: a, registrations } = api();
  const off = a.hook("x-one", () => true);
  a.hook("x-two", () => true);
  off();
  assert.equal(host.events.has("x-one"), false);
  assert.equal(host.events.has("x-two"), true);
  registrations.dispose();
  assert.equal(host.events.has("x-two"), false);
  // Registered after unload: undone at once.
  a.hook("x-three", () => true);
  assert.equal(host.events.has("x-three"), false);
});

// ---- features, identities, stream features, timers ----------------------

Deno.test("a feature two modules add stays until the last of them is unloaded", () => {
  const { host, api } = moduleHarness();
  const one = api("one");
  const two = api("two");
  one.api.addFeature("urn:x:shared");
  two.api.addFeature("urn:x:shared");
  one.api.addAccountFeature("urn:x:acct");
  one.api.addIdentity({ category: "pubsub", type: "service" });
  one.api.addStreamFeature(() => undefined);
  one.registrations.dispose();
  assert.equal(host.discoFeatures.has("urn:x:shared"), true);
  assert.equal(host.accountFeatures.has("urn:x:acct"), false);
  assert.equal(host.discoIdentities.length, 0);
  assert.equal(host.streamFeatures.length, 0);
  two.registrations.dispose();
  assert.equal(host.discoFeatures.has("urn:x:shared"), false);
});

Deno.test("timers run, and go with the module", async () => {
  const { api } = moduleHarness();
  const { api: a, registrations } = api();
  let ticks = 0;
  a.setInterval(() => void ticks++, 1);
  const fired = new Promise<void>((resolve) => a.setTimeout(resolve, 1));
  a.setTimeout(() => assert.fail("cancelled by unload"), 60_000);
  await keepAlive(fired);
  registrations.dispose(); // the sanitizer fails the test if a timer is left
  const seen = ticks;
  await keepAlive(new Promise((r) => setTimeout(r, 5)));
  assert.equal(ticks, seen);
});

// ---- providers ----------------------------------------------------------

Deno.test("providers list items in the order provided, until removed or unloaded", () => {
  const registry = new ProviderRegistry();
  const offA = registry.provide("disco-item", { jid: "a.example" });
  registry.provide("disco-item", { jid: "b.example" });
  const before = registry.items("disco-item");
  offA();
  assert.deepEqual(before.map((i) => i.jid), ["a.example", "b.example"]);
  assert.deepEqual(registry.items("disco-item").map((i) => i.jid), ["b.example"]);
  assert.deepEqual(registry.items("x-nothing"), []);

  const { host, api } = moduleHarness();
  const { api: a, registrations } = api();
  a.provide("disco-item", { jid: "c.example", name: "C" });
  a.provide<number>("x-custom", 7);
  assert.deepEqual(a.items<number>("x-custom"), [7]);
  registrations.dispose();
  assert.deepEqual(host.providers.items("disco-item"), []);
  assert.deepEqual(host.providers.items("x-custom"), []);
});

// ---- handleIq -----------------------------------------------------------

Deno.test("handleIq: a returned element is the result's payload, sent once", async () => {
  const { out, router, session, api } = moduleHarness();
  const { api: a } = api();
  a.handleIq({ type: "get", xmlns: NS_X, name: "q" }, () => el("q", { xmlns: NS_X }, "hi"));
  a.handleIq(
    { type: "get", xmlns: NS_X, name: "q", to: "self" },
    async () => {
      await settle();
      return a.EMPTY_RESULT;
    },
  );
  router.fromClient(session, get("1", DOMAIN));
  router.fromClient(session, get("2"));
  await settle();
  await settle();
  assert.equal(out.length, 2);
  assert.match(out[0], /type='result'/);
  assert.match(out[0], /<q xmlns='urn:x:test'>hi<\/q>/);
  assert.match(out[1], /id='2'/);
  assert.match(out[1], /type='result'/);
  assert.doesNotMatch(out[1], /<q/);
});

Deno.test("handleIq: nothing returned is service-unavailable, or the next handler's", async () => {
  const { out, router, session, api } = moduleHarness();
  const { api: a } = api();
  a.handleIq({ type: "get", xmlns: NS_X, name: "q", priority: 1 }, async (ev) => {
    await settle();
    return ev.stanza.attrs.id === "mine" ? el("q", { xmlns: NS_X }, "high") : undefined;
  });
  router.fromClient(session, get("none", DOMAIN));
  await settle();
  await settle();
  assert.equal(out.length, 1);
  assert.match(out[0], /service-unavailable/);

  const off = a.handleIq(
    { type: "get", xmlns: NS_X, name: "q" },
    () => el("q", { xmlns: NS_X }, "low"),
  );
  router.fromClient(session, get("other", DOMAIN));
  router.fromClient(session, get("mine", DOMAIN));
  await settle();
  await settle();
  assert.equal(out.length, 3);
  assert.match(out[1], /low/);
  assert.match(out[2], /high/);

  off();
  router.fromClient(session, get("gone", DOMAIN));
  await settle();
  await settle();
  assert.equal(out.length, 4);
  assert.match(out[3], /service-unavailable/);
});

Deno.test("handleIq: a thrown StanzaError is the reply; another failure internal-server-error", async () => {
  const { out, router, session, api } = moduleHarness();
  const { api: a } = api();
  a.handleIq({ type: "get", xmlns: NS_X, name: "q" }, (ev) => {
    if (ev.stanza.attrs.id === "sync") throw new StanzaError("modify", "bad-request", "no");
    if (ev.stanza.attrs.id === "bug") throw new Error("bug");
    return Promise.reject(new StanzaError("auth", "forbidden"));
  });
  router.fromClient(session, get("sync", DOMAIN));
  router.fromClient(session, get("async", DOMAIN));
  router.fromClient(session, get("bug", DOMAIN));
  await settle();
  await settle();
  assert.equal(out.length, 3);
  const byId = (id: string) => out.find((o) => o.includes(`id='${id}'`))!;
  assert.match(byId("sync"), /type='error'.*bad-request/s);
  assert.match(byId("async"), /forbidden/);
  assert.match(byId("bug"), /internal-server-error/);
});

// ---- sendIq -------------------------------------------------------------

/** Captures what the host routes to peer.example (instead of federation). */
function capturePeer(h: ReturnType<typeof moduleHarness>) {
  const sent: Element[] = [];
  h.host.events.on("iq/remote", (ev) => {
    sent.push(ev.stanza);
    return true;
  }, 10);
  return sent;
}

Deno.test("sendIq resolves with the result from the iq's `to` and then stops listening", async () => {
  const h = moduleHarness();
  const sent = capturePeer(h);
  const { api: a } = h.api();
  const answer = a.sendIq(el("iq", { type: "get", to: "peer.example" }, el("q", { xmlns: NS_X })));
  assert.equal(sent.length, 1);
  const { id, from } = sent[0].attrs;
  assert.equal(from, DOMAIN);
  assert.match(id!, /^iq-/);
  // Someone else knowing the id is not the answer.
  h.router.fromPeer(el("iq", { type: "result", id, from: "evil.example", to: DOMAIN }));
  h.router.fromPeer(el("iq", { type: "result", id, from: "peer.example", to: DOMAIN }, el("ok")));
  const result = await answer;
  assert.equal(result.attrs.from, "peer.example");
  assert.ok(result.getChild("ok"));
  assert.equal(h.host.events.has(`iq-result/host/${id}`), false);
  assert.equal(h.host.events.has(`iq-error/host/${id}`), false);
});

Deno.test("sendIq rejects with the error reply's condition; from an account, answers come to it", async () => {
  const h = moduleHarness();
  const sent = capturePeer(h);
  const { api: a } = h.api();
  const answer = a.sendIq(
    el("iq", { type: "set", from: `juliet@${DOMAIN}`, to: "push.peer.example" }, el("x")),
  );
  const { id } = sent[0].attrs;
  h.router.fromPeer(
    el(
      "iq",
      { type: "error", id, from: "push.peer.example", to: `juliet@${DOMAIN}` },
      new StanzaError("cancel", "item-not-found", "gone").toElement(),
    ),
  );
  await assert.rejects(answer, (err: unknown) => {
    assert.ok(err instanceof StanzaError);
    assert.equal(err.condition, "item-not-found");
    assert.equal(err.type, "cancel");
    assert.equal(err.text, "gone");
    return true;
  });
  assert.equal(h.host.events.has(`iq-error/bare/${id}`), false);
});

Deno.test("sendIq: no route is the router's error; no answer a timeout; unload ends the wait", async () => {
  const h = moduleHarness();
  const { api: a, registrations } = h.api();
  // Core delivery answers remote-server-not-found when nothing routes it.
  await assert.rejects(
    a.sendIq(el("iq", { type: "get", to: "nowhere.example" }, el("q", { xmlns: NS_X }))),
    (err: unknown) => err instanceof StanzaError && err.condition === "remote-server-not-found",
  );
  const sent = capturePeer(h);
  await assert.rejects(
    keepAlive(a.sendIq(el("iq", { type: "get", to: "peer.example" }, el("q")), { timeoutMs: 5 })),
    (err: unknown) => err instanceof IqTimeoutError && err.condition === "remote-server-timeout",
  );
  assert.equal(h.host.events.has(`iq-result/host/${sent[0].attrs.id}`), false);
  const pending = a.sendIq(el("iq", { type: "get", to: "peer.example" }, el("q")));
  registrations.dispose();
  await assert.rejects(pending, IqTimeoutError);
  assert.equal(h.host.events.has(`iq-result/host/${sent[1].attrs.id}`), false);
  // Only from the host or an account's bare JID.
  await assert.rejects(
    a.sendIq(el("iq", { type: "get", from: "juliet@example.org/balcony", to: "peer.example" })),
    TypeError,
  );
});
