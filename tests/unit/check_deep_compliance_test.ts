/** The XEP-0479 table of `parley check --deep`: levels and what is missing, from facts alone. */
import assert from "node:assert/strict";
import { assess, REQUIREMENTS } from "../../src/cli/deep/compliance.ts";
import { type Facts, newFacts } from "../../src/cli/deep/facts.ts";

/** Facts that meet `met` for every row, built by trying each row's evidence kind. */
function everything(): Facts {
  const f = newFacts(true);
  for (
    const x of [
      "login",
      "starttls",
      "direct-tls",
      "websocket",
      "bosh",
      "roster",
      "message",
      "carbons",
      "muc",
      "mam",
      "upload",
    ]
  ) {
    f.exercised.add(x);
  }
  for (
    const ns of [
      "http://jabber.org/protocol/disco#info",
      "vcard-temp",
      "urn:xmpp:blocking",
      "jabber:iq:private",
      "urn:xmpp:extdisco:2",
    ]
  ) {
    f.serverFeatures.add(ns);
  }
  for (
    const ns of [
      "http://jabber.org/protocol/pubsub",
      "urn:xmpp:pep-vcard-conversion:0",
      "urn:xmpp:bookmarks:1#compat",
      "http://jabber.org/protocol/pubsub#publish-options",
      "urn:xmpp:push:0",
    ]
  ) {
    f.accountFeatures.add(ns);
  }
  for (const s of ["c http://jabber.org/protocol/caps", "sm urn:xmpp:sm:3", "csi urn:xmpp:csi:0"]) {
    f.streamFeatures.add(s);
  }
  f.mucService = "conference.example.test";
  f.serviceFeatures[f.mucService] = new Set([
    "http://jabber.org/protocol/muc#self-ping-optimization",
  ]);
  f.roomFeatures = new Set(["urn:xmpp:mam:2"]);
  return f;
}

Deno.test("every requirement met: Advanced Server in every category", () => {
  const f = everything();
  for (const r of REQUIREMENTS) assert.ok(r.met(f), r.feature);
  for (const c of assess(f)) {
    assert.deepEqual([c.level, c.missing], ["Advanced Server", []], c.category);
  }
});

Deno.test("an Advanced-only gap keeps the Server level and names the gap", () => {
  const f = everything();
  f.serverFeatures.delete("urn:xmpp:blocking");
  const im = assess(f).find((c) => c.category === "IM")!;
  assert.equal(im.level, "Server");
  assert.deepEqual(im.missing.map((m) => m.providers), ["XEP-0191"]);
});

Deno.test("a Core gap holds back every other category at that level", () => {
  const f = everything();
  f.exercised.delete("direct-tls");
  for (const c of assess(f)) {
    assert.equal(c.level, "Server", c.category);
    assert.ok(c.missing.some((m) => m.providers === "XEP-0368"), c.category);
  }
  f.exercised.delete("starttls");
  for (const c of assess(f)) assert.equal(c.level, "none", c.category);
});

Deno.test("a Server-level gap in a category: not reached, with what is missing for Server", () => {
  const f = everything();
  f.streamFeatures.delete("csi urn:xmpp:csi:0");
  const mobile = assess(f).find((c) => c.category === "Mobile")!;
  assert.equal(mobile.level, "none");
  assert.deepEqual(mobile.missing.map((m) => m.providers), ["XEP-0352"]);
});
