import assert from "node:assert/strict";
import { ECHO_LIMITS, errorReply, StanzaError } from "../../src/core/errors.ts";
import { el, Element, serialize } from "../../src/xml/element.ts";
import { withinLimits } from "../../src/xml/tree_bounds.ts";

const LIMITS = { maxDepth: 3, maxNodes: 10, maxChars: 100 };

function chain(depth: number): Element {
  const root = el("a");
  let cur = root;
  for (let i = 1; i < depth; i++) {
    const next = el("a");
    cur.append(next);
    cur = next;
  }
  return root;
}

Deno.test("withinLimits counts depth, nodes and characters, and stops early", () => {
  assert.ok(withinLimits([], LIMITS));
  assert.ok(withinLimits([chain(3)], LIMITS));
  assert.ok(!withinLimits([chain(4)], LIMITS));
  assert.ok(withinLimits(Array.from({ length: 10 }, () => "x"), LIMITS));
  assert.ok(!withinLimits(Array.from({ length: 11 }, () => "x"), LIMITS));
  assert.ok(withinLimits([el("b", {}, "x".repeat(99))], LIMITS));
  assert.ok(!withinLimits([el("b", {}, "x".repeat(100))], LIMITS));
  assert.ok(!withinLimits([el("b", { k: "v".repeat(100) })], LIMITS));
  // A 200 000-deep chain is refused at once, without recursion.
  assert.ok(!withinLimits([chain(200_000)], LIMITS));
});

const error = new StanzaError("cancel", "service-unavailable");

Deno.test("an error reply echoes a small payload (RFC 6120 §8.3.1)", () => {
  const message = el(
    "message",
    { from: "a@x/r", to: "b@x", id: "1", type: "chat" },
    el("body", {}, "hi"),
    el("html", { xmlns: "http://jabber.org/protocol/xhtml-im" }, el("body", {}, el("p", {}, "hi"))),
  );
  const reply = errorReply(message, error);
  assert.equal(reply.attrs.to, "a@x/r");
  assert.equal(reply.attrs.from, "b@x");
  assert.equal(reply.attrs.type, "error");
  assert.equal(reply.getChildText("body"), "hi");
  assert.ok(reply.getChild("html", "http://jabber.org/protocol/xhtml-im"));
  assert.ok(reply.getChild("error"));
  // The original is untouched.
  assert.equal(message.attrs.type, "chat");
  assert.equal(message.children.length, 2);
});

Deno.test("an error reply leaves out a deep, wide or large payload", () => {
  const cases: [string, Element][] = [
    ["deep", chain(ECHO_LIMITS.maxDepth + 1)],
    ["very deep", chain(200_000)],
    ["wide", el("x", {}, ...Array.from({ length: ECHO_LIMITS.maxNodes }, () => el("y")))],
    ["large", el("body", {}, "x".repeat(ECHO_LIMITS.maxChars + 1))],
  ];
  for (const [what, payload] of cases) {
    const message = el("message", { from: "a@x/r", to: "b@x", id: "1" }, payload);
    const reply = errorReply(message, error);
    assert.equal(reply.children.length, 1, what);
    assert.equal(reply.firstElement()?.name, "error", what);
    assert.ok(serialize(reply).length < 300, what);
  }
  // Just within the bounds is still echoed.
  const edge = el("message", { id: "2" }, chain(ECHO_LIMITS.maxDepth));
  assert.equal(errorReply(edge, error).children.length, 2);
});

Deno.test("an iq error reply never echoes the payload", () => {
  const iq = el("iq", { from: "a@x/r", to: "x", id: "q", type: "get" }, el("query"));
  const reply = errorReply(iq, error);
  assert.deepEqual(reply.children.map((c) => (c as Element).name), ["error"]);
});
