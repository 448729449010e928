import assert from "node:assert/strict";
import { errorCondition as condition, hostFeatures, iq, TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { NS } from "../../src/xml/namespaces.ts";

const PASSWORDS: Record<string, string> = { alice: "wonderland", bob: "builder" };

function login(server: TestServer, user: string, resource = "r") {
  return TestClient.login({
    port: server.ports.c2s,
    user,
    password: PASSWORDS[user],
    resource,
    presence: false,
  });
}

/** Send an iq and wait for its answer. */
const CARD = "<vCard xmlns='vcard-temp'><FN>Alice Liddell</FN><NICKNAME>alice</NICKNAME>" +
  "<PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0KGgo=</BINVAL></PHOTO>" +
  "<X-CUSTOM a='1 &amp; 2'>kept &lt;as is&gt;</X-CUSTOM><ext xmlns='urn:example:ext'><v/></ext>" +
  "</vCard>";

Deno.test("vcard: the owner sets and reads back the exact vCard; others read it via the bare JID", async () => {
  const server = await startTestServer();
  try {
    const alice = await login(server, "alice");
    const bob = await login(server, "bob");
    // Nothing stored yet: the owner gets an empty vCard (§3.1 allows it).
    const empty = await iq(alice, "g0", "<iq type='get' id='g0'><vCard xmlns='vcard-temp'/></iq>");
    assert.equal(empty.attrs.type, "result");
    assert.equal(empty.getChild("vCard", "vcard-temp")?.children.length, 0);

    const set = await iq(alice, "s1", `<iq type='set' id='s1'>${CARD}</iq>`);
    assert.equal(set.attrs.type, "result", set.toString());

    // Own vCard, with no 'to' and with the own bare JID as 'to'.
    const own = await iq(alice, "g1", "<iq type='get' id='g1'><vCard xmlns='vcard-temp'/></iq>");
    assert.equal(own.getChild("vCard", "vcard-temp")?.toString(), CARD);
    const ownBare = await iq(
      alice,
      "g2",
      "<iq type='get' id='g2' to='alice@localhost'><vCard xmlns='vcard-temp'/></iq>",
    );
    assert.equal(ownBare.attrs.type, "result");
    assert.equal(ownBare.getChild("vCard", "vcard-temp")?.toString(), CARD);

    // Another user asks alice's bare JID: the server answers, from that JID.
    const other = await iq(
      bob,
      "b1",
      "<iq type='get' id='b1' to='alice@localhost'><vCard xmlns='vcard-temp'/></iq>",
    );
    assert.equal(other.attrs.type, "result");
    assert.equal(other.attrs.from, "alice@localhost");
    assert.equal(other.getChild("vCard", "vcard-temp")?.getChildText("FN"), "Alice Liddell");
    assert.equal(other.getChild("vCard", "vcard-temp")?.toString(), CARD);
    await alice.nothing((e) => e.name === "iq" && e.attrs.id === "b1", 100);

    // A new set replaces the old vCard entirely.
    await iq(
      alice,
      "s2",
      "<iq type='set' id='s2'><vCard xmlns='vcard-temp'><FN>A</FN></vCard></iq>",
    );
    const again = await iq(
      bob,
      "b2",
      "<iq type='get' id='b2' to='alice@localhost'><vCard xmlns='vcard-temp'/></iq>",
    );
    assert.equal(
      again.getChild("vCard", "vcard-temp")?.toString(),
      "<vCard xmlns='vcard-temp'><FN>A</FN></vCard>",
    );
    alice.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("vcard: no vCard and no such user give the same error; setting another's is forbidden", async () => {
  const server = await startTestServer();
  try {
    const alice = await login(server, "alice");
    const none = await iq(
      alice,
      "n1",
      "<iq type='get' id='n1' to='bob@localhost'><vCard xmlns='vcard-temp'/></iq>",
    );
    assert.equal(none.attrs.type, "error");
    const ghost = await iq(
      alice,
      "n2",
      "<iq type='get' id='n2' to='ghost@localhost'><vCard xmlns='vcard-temp'/></iq>",
    );
    assert.equal(ghost.attrs.type, "error");
    // §3.3: the same condition in both cases, so accounts cannot be probed.
    assert.equal(condition(none), "service-unavailable");
    assert.equal(condition(ghost), "service-unavailable");

    const forbidden = await iq(
      alice,
      "f1",
      "<iq type='set' id='f1' to='bob@localhost'><vCard xmlns='vcard-temp'><FN>x</FN></vCard></iq>",
    );
    assert.equal(forbidden.attrs.type, "error");
    assert.equal(condition(forbidden), "forbidden");
    // Nothing was stored for bob.
    assert.equal(await server.storage.keyval("localhost", "vcard").get("bob"), undefined);
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("vcard: a vCard over vcard.maxBytes is refused and the old one kept", async () => {
  const server = await startTestServer({ vcard: { maxBytes: 1024 } });
  try {
    const alice = await login(server, "alice");
    await iq(
      alice,
      "s1",
      "<iq type='set' id='s1'><vCard xmlns='vcard-temp'><FN>A</FN></vCard></iq>",
    );
    const big = `<vCard xmlns='vcard-temp'><DESC>${"x".repeat(1100)}</DESC></vCard>`;
    const refused = await iq(alice, "s2", `<iq type='set' id='s2'>${big}</iq>`);
    assert.equal(refused.attrs.type, "error");
    assert.equal(condition(refused), "not-acceptable");
    assert.match(refused.getChild("error")?.getChildText("text", NS.stanzas) ?? "", /1024/);
    const kept = await iq(alice, "g1", "<iq type='get' id='g1'><vCard xmlns='vcard-temp'/></iq>");
    assert.equal(kept.getChild("vCard", "vcard-temp")?.getChildText("FN"), "A");
    // Just under the limit is fine.
    const fits = `<vCard xmlns='vcard-temp'><DESC>${"y".repeat(900)}</DESC></vCard>`;
    assert.equal(
      (await iq(alice, "s3", `<iq type='set' id='s3'>${fits}</iq>`)).attrs.type,
      "result",
    );
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("vcard: advertised in the server's disco#info", async () => {
  const server = await startTestServer();
  try {
    const alice = await login(server, "alice");
    const features = await hostFeatures(alice);
    assert.ok(features?.includes("vcard-temp"), String(features));
    alice.close();
  } finally {
    await server.stop();
  }
});
