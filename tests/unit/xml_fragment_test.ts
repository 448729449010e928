import assert from "node:assert/strict";
import { el, type Element } from "../../src/xml/element.ts";
import { parseElement, serializedBytes } from "../../src/util/xml_fragment.ts";

function nested(depth: number): Element {
  const root = el("vCard", { xmlns: "vcard-temp" });
  let at = root;
  for (let i = 1; i < depth; i++) {
    const child = el("a");
    at.append(child);
    at = child;
  }
  return root;
}

Deno.test("a stored element reads back at any depth a stream may be configured to accept", () => {
  // Deeper than the client default (32): a server configured higher stored it.
  const stored = serializedBytes(nested(500)).text;
  const back = parseElement(stored);
  assert.ok(back, "read back");
  assert.equal(serializedBytes(back).text, stored);
});

Deno.test("serializedBytes counts UTF-8 bytes, not characters", () => {
  const { text, bytes } = serializedBytes(el("body", {}, "é😀"));
  assert.equal(bytes, new TextEncoder().encode(text).length);
});
