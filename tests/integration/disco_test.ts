import assert from "node:assert/strict";
import type { SubscriptionQuery } from "../../src/core/subscription.ts";
import { errorCondition as condition, TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { NS } from "../../src/xml/namespaces.ts";
import type { Element } from "../../src/xml/element.ts";
import { CAPS_NODE, capsVer } from "../../src/modules/caps.ts";
import { NS_CAPS } from "../../src/modules/disco.ts";
import { NS_DATA, parseForm } from "../../src/util/dataforms.ts";

function login(server: TestServer, user: string, resource = "r") {
  const password = user === "alice" ? "wonderland" : "builder";
  return TestClient.login({ port: server.ports.c2s, user, password, resource });
}

let seq = 0;
async function iq(c: TestClient, to: string | undefined, payload: string): Promise<Element> {
  const id = "q" + ++seq;
  c.send(`<iq type='get' id='${id}'${to ? ` to='${to}'` : ""}>${payload}</iq>`);
  return await c.stanza((e) => e.name === "iq" && e.attrs.id === id);
}

const info = (node?: string) => `<query xmlns='${NS.discoInfo}'${node ? ` node='${node}'` : ""}/>`;
const items = (node?: string) =>
  `<query xmlns='${NS.discoItems}'${node ? ` node='${node}'` : ""}/>`;
const features = (iq: Element) =>
  iq.getChild("query", NS.discoInfo)!.getChildren("feature").map((f) => f.attrs.var);
Deno.test("disco: host info lists server/im, features and no contact form by default", async () => {
  const server = await startTestServer();
  try {
    const a = await login(server, "alice");
    const r = await iq(a, "localhost", info());
    assert.equal(r.attrs.type, "result");
    assert.equal(r.attrs.from, "localhost");
    const q = r.getChild("query", NS.discoInfo)!;
    const ids = q.getChildren("identity").map((i) => `${i.attrs.category}/${i.attrs.type}`);
    assert.ok(ids.includes("server/im"), ids.join());
    const f = features(r);
    for (const ns of [NS.discoInfo, NS.discoItems, NS_CAPS, NS.ping]) assert.ok(f.includes(ns), ns);
    assert.equal(q.getChild("x", NS_DATA), undefined, "no serverinfo form without addresses");
    a.close();
  } finally {
    await server.stop();
  }
});

Deno.test("disco: contact addresses (XEP-0157) as a serverinfo form", async () => {
  const server = await startTestServer({
    contactAddresses: { abuse: ["mailto:abuse@localhost"], admin: ["xmpp:a@x", "mailto:a@x"] },
  });
  try {
    const a = await login(server, "alice");
    const r = await iq(a, "localhost", info());
    const x = r.getChild("query", NS.discoInfo)!.getChild("x", NS_DATA)!;
    assert.equal(x.attrs.type, "result");
    const values = parseForm(x)!;
    assert.deepEqual(values.get("FORM_TYPE"), ["http://jabber.org/network/serverinfo"]);
    assert.deepEqual(values.get("abuse-addresses"), ["mailto:abuse@localhost"]);
    assert.deepEqual(values.get("admin-addresses"), ["xmpp:a@x", "mailto:a@x"]);
    assert.equal(values.has("sales-addresses"), false);
    a.close();
  } finally {
    await server.stop();
  }
});

Deno.test("disco: caps stream feature after auth, ver matches disco#info, node query", async () => {
  const server = await startTestServer({ contactAddresses: { support: ["https://x/help"] } });
  try {
    const pre = await TestClient.connect({ port: server.ports.c2s });
    const preFeatures = await pre.open();
    assert.equal(preFeatures.getChild("c", NS_CAPS), undefined, "not before authentication");
    pre.close();

    const a = await login(server, "alice");
    const c = a.features!.getChild("c", NS_CAPS)!;
    assert.equal(c.attrs.hash, "sha-1");
    assert.equal(c.attrs.node, CAPS_NODE);
    const r = await iq(a, "localhost", info());
    const q = r.getChild("query", NS.discoInfo)!;
    const ids = q.getChildren("identity").map((i) => ({
      category: i.attrs.category,
      type: i.attrs.type,
      name: i.attrs.name,
    }));
    assert.equal(c.attrs.ver, capsVer(ids, features(r), q.getChildren("x", NS_DATA)));

    const node = `${CAPS_NODE}#${c.attrs.ver}`;
    const byNode = await iq(a, "localhost", info(node));
    assert.equal(byNode.attrs.type, "result");
    const nq = byNode.getChild("query", NS.discoInfo)!;
    assert.equal(nq.attrs.node, node, "node mirrored");
    assert.deepEqual(features(byNode), features(r));

    const stale = await iq(a, "localhost", info(`${CAPS_NODE}#stale`));
    assert.equal(condition(stale), "item-not-found");
    a.close();
  } finally {
    await server.stop();
  }
});

Deno.test("disco: host items and node events for other modules", async () => {
  // Only the item this test adds: no pubsub or upload service host listed beside it.
  const server = await startTestServer({ pubsub: { enabled: false }, upload: { enabled: false } });
  try {
    const host = server.hosts.get("localhost")!;
    const { el } = await import("../../src/xml/element.ts");
    host.events.on("disco-items/host", (e: { items: Element[] }) => {
      e.items.push(el("item", { jid: "conference.localhost", name: "Rooms" }));
    });
    host.events.on("disco-items-node/urn:test:list", (e: { query: Element }) => {
      e.query.append(el("item", { jid: "localhost", node: "urn:test:one" }));
      return true;
    });
    host.events.on("disco-info-node/urn:test:one", async (e: { query: Element }) => {
      await Promise.resolve();
      e.query.append(el("identity", { category: "automation", type: "command-node" }));
      return true;
    });
    const a = await login(server, "alice");
    const it = await iq(a, "localhost", items());
    assert.equal(it.attrs.type, "result");
    const list = it.getChild("query", NS.discoItems)!.getChildren("item");
    assert.deepEqual(list.map((i) => i.attrs.jid), ["conference.localhost"]);

    const nodeItems = await iq(a, "localhost", items("urn:test:list"));
    const nq = nodeItems.getChild("query", NS.discoItems)!;
    assert.equal(nq.attrs.node, "urn:test:list");
    assert.equal(nq.getChildren("item")[0].attrs.node, "urn:test:one");

    const nodeInfo = await iq(a, "localhost", info("urn:test:one"));
    assert.equal(
      nodeInfo.getChild("query", NS.discoInfo)!.getChild("identity")!.attrs.type,
      "command-node",
    );
    assert.equal(condition(await iq(a, "localhost", info("urn:test:none"))), "item-not-found");
    assert.equal(condition(await iq(a, "localhost", items("urn:test:none"))), "item-not-found");
    a.close();
  } finally {
    await server.stop();
  }
});

Deno.test("disco: accounts answer themselves; strangers and unknown accounts get service-unavailable", async () => {
  const server = await startTestServer();
  try {
    const a = await login(server, "alice");
    for (const to of [undefined, "alice@localhost"]) {
      const self = await iq(a, to, info());
      assert.equal(self.attrs.type, "result", String(to));
      const q = self.getChild("query", NS.discoInfo)!;
      const id = q.getChild("identity")!;
      assert.equal(`${id.attrs.category}/${id.attrs.type}`, "account/registered");
      assert.ok(features(self).includes(NS.discoInfo));
      const own = await iq(a, to, items());
      assert.equal(own.attrs.type, "result");
      assert.equal(own.getChild("query", NS.discoItems)!.children.length, 0);
    }
    // XEP-0030 §8: no subscription, or no such account: the same answer.
    assert.equal(condition(await iq(a, "bob@localhost", info())), "service-unavailable");
    assert.equal(condition(await iq(a, "nobody@localhost", info())), "service-unavailable");
    for (const to of ["bob@localhost", "nobody@localhost"]) {
      const r = await iq(a, to, items());
      assert.equal(r.attrs.type, "result");
      assert.equal(r.attrs.from, to);
      assert.equal(r.getChild("query", NS.discoItems)!.children.length, 0);
    }
    a.close();
  } finally {
    await server.stop();
  }
});

Deno.test("disco: a subscriber (roster/get-subscription says from) sees the account", async () => {
  const server = await startTestServer();
  try {
    const host = server.hosts.get("localhost")!;
    // Stands in for the roster module's answer: bob's roster has alice with from.
    host.events.on(
      "roster/get-subscription",
      (q: SubscriptionQuery) => {
        if (q.owner === "bob" && q.contact === "alice@localhost") q.subscription = "from";
        return true;
      },
      10,
    );
    const a = await login(server, "alice");
    const r = await iq(a, "bob@localhost", info());
    assert.equal(r.attrs.type, "result");
    assert.equal(r.attrs.from, "bob@localhost");
    a.close();
  } finally {
    await server.stop();
  }
});
