import assert from "node:assert/strict";
import { errorCondition, iq, type TestClient } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { capsLogin, event, isEvent, NS_PUBSUB, publishXml, seedRoster } from "../helpers/pep.ts";

const OWNER = "http://jabber.org/protocol/pubsub#owner";
const ERRORS = "http://jabber.org/protocol/pubsub#errors";
const INFO = "http://jabber.org/protocol/disco#info";

const ownerSet = (c: TestClient, id: string, inner: string) =>
  iq(c, id, `<iq type='set' id='${id}'><pubsub xmlns='${OWNER}'>${inner}</pubsub></iq>`);
const configure = (node: string, fields: Record<string, string>) =>
  `<configure node='${node}'><x xmlns='jabber:x:data' type='submit'>` +
  `<field var='FORM_TYPE' type='hidden'><value>${NS_PUBSUB}#node_config</value></field>` +
  Object.entries(fields).map(([k, v]) => `<field var='${k}'><value>${v}</value></field>`).join(
    "",
  ) + `</x></configure>`;

async function pair() {
  const server = await startTestServer({}, { alice: "a", bob: "b", dave: "d" });
  await seedRoster(server, "alice", [{ jid: "bob@localhost", subscription: "both" }]);
  await seedRoster(server, "bob", [{ jid: "alice@localhost", subscription: "both" }]);
  const { client: alice } = await capsLogin(server, "alice", "a", "a", []);
  const { client: bob } = await capsLogin(server, "bob", "b", "b", ["ex:n+notify"]);
  return { server, alice, bob };
}

Deno.test("pep: a configuration change is notified when the node has notify_config", async () => {
  const { server, alice, bob } = await pair();
  try {
    const pub = await iq(alice, "p", publishXml("p", "ex:n", "1", "<v xmlns='ex'/>"));
    assert.equal(pub.attrs.type, "result", pub.toString());
    await event(bob, "alice@localhost", "ex:n");
    const r = await ownerSet(
      alice,
      "c",
      configure("ex:n", { "pubsub#notify_config": "1", "pubsub#title": "Things" }),
    );
    assert.equal(r.attrs.type, "result", r.toString());
    const ev = await event(bob, "alice@localhost", "ex:n");
    assert.equal(ev.name, "configuration");
    const form = ev.getChild("x", "jabber:x:data")!;
    const title = form.getChildren("field").find((f) => f.attrs.var === "pubsub#title");
    assert.equal(title?.getChildText("value"), "Things");
  } finally {
    await server.stop();
  }
});

Deno.test("pep: a node's disco#info carries the pubsub#meta-data form (XEP-0060 §5.4)", async () => {
  const { server, alice, bob } = await pair();
  try {
    const pub = await iq(alice, "p", publishXml("p", "ex:n", "1", "<v xmlns='ex'/>"));
    assert.equal(pub.attrs.type, "result", pub.toString());
    const info = await iq(
      bob,
      "i",
      `<iq type='get' id='i' to='alice@localhost'><query xmlns='${INFO}' node='ex:n'/></iq>`,
    );
    const form = info.getChild("query", INFO)!.getChild("x", "jabber:x:data")!;
    assert.equal(form.attrs.type, "result");
    const value = (v: string) =>
      form.getChildren("field").find((f) => f.attrs.var === v)?.getChildText("value");
    assert.equal(value("FORM_TYPE"), `${NS_PUBSUB}#meta-data`);
    assert.equal(value("pubsub#owner"), "alice@localhost");
    assert.equal(value("pubsub#access_model"), "presence");
  } finally {
    await server.stop();
  }
});

Deno.test("pep: the authorize access model (no approval flow in PEP) is refused, not a silent whitelist", async () => {
  const { server, alice } = await pair();
  try {
    const auth = { "pubsub#access_model": "authorize" };
    const pub = await iq(alice, "p", publishXml("p", "ex:a", "1", "<v xmlns='ex'/>", auth));
    assert.equal(errorCondition(pub), "not-acceptable", pub.toString());
    assert.equal(
      pub.getChild("error")?.getChild("unsupported", ERRORS)?.attrs.feature,
      "access-authorize",
    );
    const ok = await iq(alice, "p2", publishXml("p2", "ex:a", "1", "<v xmlns='ex'/>"));
    assert.equal(ok.attrs.type, "result");
    const conf = await ownerSet(alice, "c", configure("ex:a", auth));
    assert.equal(errorCondition(conf), "not-acceptable", conf.toString());
  } finally {
    await server.stop();
  }
});

Deno.test("pep: publish without item or payload: item-required / payload-required (XEP-0060 §7.1.3.6)", async () => {
  const { server, alice } = await pair();
  try {
    const noItem = await iq(
      alice,
      "p1",
      `<iq type='set' id='p1'><pubsub xmlns='${NS_PUBSUB}'><publish node='ex:e'/></pubsub></iq>`,
    );
    assert.equal(errorCondition(noItem), "bad-request", noItem.toString());
    assert.ok(noItem.getChild("error")?.getChild("item-required", ERRORS));
    const noPayload = await iq(
      alice,
      "p2",
      `<iq type='set' id='p2'><pubsub xmlns='${NS_PUBSUB}'><publish node='ex:e'><item id='x'/>` +
        `</publish></pubsub></iq>`,
    );
    assert.equal(errorCondition(noPayload), "bad-request", noPayload.toString());
    assert.ok(noPayload.getChild("error")?.getChild("payload-required", ERRORS));
  } finally {
    await server.stop();
  }
});

Deno.test("pep: a stranger's directed presence with +notify caps earns no notifications, even of open nodes", async () => {
  const { server, alice } = await pair();
  try {
    const dave = await capsLogin(server, "dave", "d", "d", ["ex:open+notify"], false);
    dave.client.send(dave.presence.replace("<presence>", "<presence to='alice@localhost'>"));
    // bob, a contact, with the same interest: his presence is tracked.
    const bob2 = await capsLogin(server, "bob", "b", "b2", ["ex:open+notify"]);
    const open = { "pubsub#access_model": "open" };
    const pub = await iq(alice, "p", publishXml("p", "ex:open", "1", "<v xmlns='ex'/>", open));
    assert.equal(pub.attrs.type, "result", pub.toString());
    await event(bob2.client, "alice@localhost", "ex:open");
    await dave.client.nothing(isEvent("alice@localhost", "ex:open"), 100);
    assert.equal(dave.queries.length, 0, "no caps query to a stranger");
  } finally {
    await server.stop();
  }
});

Deno.test("pep: purge notifies only nodes configured to notify item removals (XEP-0060 §8.5.2)", async () => {
  const { server, alice, bob } = await pair();
  try {
    await iq(alice, "p", publishXml("p", "ex:n", "1", "<v xmlns='ex'/>"));
    await event(bob, "alice@localhost", "ex:n");
    const c = await ownerSet(alice, "c", configure("ex:n", { "pubsub#notify_retract": "0" }));
    assert.equal(c.attrs.type, "result", c.toString());
    const pu = await ownerSet(alice, "pu", `<purge node='ex:n'/>`);
    assert.equal(pu.attrs.type, "result", pu.toString());
    await bob.nothing(isEvent("alice@localhost", "ex:n"), 100);
  } finally {
    await server.stop();
  }
});

Deno.test("pep: the account advertises config-node-max and multi-items", async () => {
  const { server, alice } = await pair();
  try {
    const info = await iq(
      alice,
      "di",
      `<iq type='get' id='di' to='alice@localhost'><query xmlns='${INFO}'/></iq>`,
    );
    for (const f of ["config-node-max", "multi-items"]) {
      assert.ok(info.toString().includes(`var='${NS_PUBSUB}#${f}'`), f);
    }
  } finally {
    await server.stop();
  }
});

Deno.test("pep: the configure form offers only the access models PEP has", async () => {
  const { server, alice } = await pair();
  try {
    await iq(alice, "p", publishXml("p", "ex:n", "1", "<v xmlns='ex'/>"));
    const r = await iq(
      alice,
      "cg",
      `<iq type='get' id='cg'><pubsub xmlns='${OWNER}'><configure node='ex:n'/></pubsub></iq>`,
    );
    const field = r.getChild("pubsub", OWNER)!.getChild("configure")!.getChild(
      "x",
      "jabber:x:data",
    )!
      .getChildren("field").find((f) => f.attrs.var === "pubsub#access_model")!;
    const options = field.getChildren("option").map((o) => o.getChildText("value"));
    assert.deepEqual(options, ["open", "presence", "roster", "whitelist"]);
  } finally {
    await server.stop();
  }
});
