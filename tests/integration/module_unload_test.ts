import assert from "node:assert/strict";
import { errorCondition, hostFeatures, TestClient } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { loadedModules, loadModule, unloadModule } from "../../src/core/module_loader.ts";
import type { ParleyModule } from "../../src/core/module_api.ts";
import { NS } from "../../src/xml/namespaces.ts";
import { el, type Element } from "../../src/xml/element.ts";

let seq = 0;
async function iq(
  c: TestClient,
  type: string,
  payload: string,
  to = "localhost",
): Promise<Element> {
  const id = "u" + ++seq;
  c.send(`<iq type='${type}' id='${id}' to='${to}'>${payload}</iq>`);
  return await c.stanza((e) => e.name === "iq" && e.attrs.id === id);
}

const NS_COMMANDS = "http://jabber.org/protocol/commands";
const PING = `<ping xmlns='${NS.ping}'/>`;
const VERSION = "<query xmlns='jabber:iq:version'/>";

Deno.test("unloading a module removes its features and handlers: its iqs get service-unavailable", async () => {
  const server = await startTestServer();
  try {
    const host = server.hosts.get("localhost")!;
    assert.ok(loadedModules(host).includes("ping"));
    const a = await TestClient.login({
      port: server.ports.c2s,
      user: "alice",
      password: "wonderland",
    });
    assert.equal((await iq(a, "get", PING)).attrs.type, "result");
    assert.equal((await iq(a, "get", VERSION)).attrs.type, "result");
    assert.ok((await hostFeatures(a)).includes(NS.ping));

    assert.equal(unloadModule(host, "ping"), true);
    assert.equal(unloadModule(host, "ping"), false);
    assert.ok(!loadedModules(host).includes("ping"));
    const pong = await iq(a, "get", PING);
    assert.equal(pong.attrs.type, "error");
    assert.equal(errorCondition(pong), "service-unavailable");
    const features = await hostFeatures(a);
    assert.ok(!features.includes(NS.ping));
    // Other modules are untouched.
    assert.ok(features.includes("jabber:iq:version"));
    assert.equal((await iq(a, "get", VERSION)).attrs.type, "result");
    a.close();
  } finally {
    await server.stop();
  }
});

Deno.test("a module loaded at run time serves at once; unloaded, its provider and hooks are gone", async () => {
  const server = await startTestServer();
  try {
    const host = server.hosts.get("localhost")!;
    const NS_X = "urn:x:unload";
    const probe: ParleyModule = {
      name: "probe",
      setup(api) {
        api.addFeature(NS_X);
        api.provide("disco-item", { jid: "probe.localhost", name: "Probe" });
        api.handleIq({ type: "get", xmlns: NS_X, name: "q" }, () => el("q", { xmlns: NS_X }));
        api.provide("adhoc-command", {
          node: "urn:x:unload#hello",
          name: "Hello",
          allowed: () => true,
          start: () => ({ status: "completed", note: { type: "info", text: "hello" } }),
          submit: () => ({ status: "completed" }),
        });
      },
    };
    // The parts a module API needs are the running server's.
    await loadModule(host, probe, {
      config: server.config,
      router: server.c2s.router,
      sessions: server.sessions,
      storage: server.storage,
      auth: server.auth,
      components: server.c2s.router.components!,
    });
    const a = await TestClient.login({
      port: server.ports.c2s,
      user: "alice",
      password: "wonderland",
    });
    const items = async () =>
      (await iq(a, "get", `<query xmlns='${NS.discoItems}'/>`))
        .getChild("query", NS.discoItems)!.getChildren("item").map((i) => i.attrs.jid);
    assert.equal((await iq(a, "get", `<q xmlns='${NS_X}'/>`)).attrs.type, "result");
    assert.ok((await hostFeatures(a)).includes(NS_X));
    assert.ok((await items()).includes("probe.localhost"));
    const commands = async () =>
      (await iq(a, "get", `<query xmlns='${NS.discoItems}' node='${NS_COMMANDS}'/>`))
        .getChild("query", NS.discoItems)!.getChildren("item").map((i) => i.attrs.node);
    assert.ok((await commands()).includes("urn:x:unload#hello"));
    const run = await iq(a, "set", `<command xmlns='${NS_COMMANDS}' node='urn:x:unload#hello'/>`);
    assert.equal(run.getChild("command", NS_COMMANDS)?.getChildText("note"), "hello");

    unloadModule(host, "probe");
    assert.ok(!(await commands()).includes("urn:x:unload#hello"));
    const r = await iq(a, "get", `<q xmlns='${NS_X}'/>`);
    assert.equal(errorCondition(r), "service-unavailable");
    assert.ok(!(await hostFeatures(a)).includes(NS_X));
    assert.ok(!(await items()).includes("probe.localhost"));
    a.close();
  } finally {
    await server.stop();
  }
});
