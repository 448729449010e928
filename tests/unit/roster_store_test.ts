import assert from "node:assert/strict";
import { MAX_KEPT_REQUEST_BYTES, Roster } from "../../src/modules/roster/roster_store.ts";
import { el, type Element, serialize } from "../../src/xml/element.ts";
import { decodeValue, encodeValue } from "../../src/storage/schema.ts";

Deno.test("a kept subscription request survives storage, however deep a peer nested it", () => {
  const request = el("presence", { from: "romeo@example.net", type: "subscribe" });
  let cur: Element = request.append(el("nick", { xmlns: "http://jabber.org/protocol/nick" }, "R"));
  for (let i = 0; i < 100_000; i++) {
    const next = el("a", { n: "1" }, "t");
    cur.append(next);
    cur = next;
  }
  const roster = new Roster();
  roster.pending.set("romeo@example.net", request);
  const back = Roster.fromJson(decodeValue(encodeValue(roster.toJson())));
  const kept = back.pending.get("romeo@example.net");
  assert.ok(kept);
  assert.ok(serialize(kept) === serialize(request), "the stored request differs");
});

Deno.test("malformed stored children are skipped, a malformed request is dropped", () => {
  const back = Roster.fromJson({
    version: 1,
    items: [],
    pending: {
      "a@x": ["presence", { type: "subscribe" }, "text", ["ok", {}], [42], ["bad", []]],
      "b@x": ["presence", "no attrs"],
    },
  });
  assert.equal(
    serialize(back.pending.get("a@x")!),
    "<presence type='subscribe'>text<ok/></presence>",
  );
  assert.equal(back.pending.has("b@x"), false);
});

Deno.test("a kept subscription request keeps its small children and drops what would make it large", () => {
  const roster = new Roster();
  const request = el(
    "presence",
    { from: "romeo@example.net", to: "juliet@example.com", type: "subscribe" },
    el("status", {}, "Hi, it's Romeo"),
    el("x", { xmlns: "urn:example:big" }, "b".repeat(200_000)),
    el("nick", { xmlns: "http://jabber.org/protocol/nick" }, "Romeo"),
  );
  roster.applyState("romeo@example.net", {
    subscription: "none",
    pendingOut: false,
    pendingIn: true,
    preApproved: false,
  }, request);
  const kept = serialize(roster.pending.get("romeo@example.net")!);
  assert.ok(kept.length <= MAX_KEPT_REQUEST_BYTES + 200, `${kept.length} bytes kept`);
  assert.equal(
    kept,
    "<presence from='romeo@example.net' to='juliet@example.com' type='subscribe'>" +
      "<status>Hi, it's Romeo</status>" +
      "<nick xmlns='http://jabber.org/protocol/nick'>Romeo</nick></presence>",
  );
  // The stanza delivered live is left as it was.
  assert.equal(request.children.length, 3);
});
