import assert from "node:assert/strict";
import { prepNick } from "../../src/modules/muc/nick.ts";

Deno.test("muc nick: Resourceprep's mappings make look-alikes one nick", () => {
  const same: [string, string][] = [
    ["\uff21lice", "Alice"], // fullwidth
    ["Ali\u00adce", "Alice"], // soft hyphen (B.1)
    ["Ali\u200bce", "Alice"], // zero-width space (B.1)
    ["Ali\u200dce", "Alice"], // zero-width joiner (B.1)
    ["Alice\ufe0f", "Alice"], // variation selector (B.1)
    ["\ufb01sh", "fish"], // ligature (NFKC)
    ["e\u0301", "\u00e9"], // combining sequence (NFKC composes)
    ["\u2460", "1"], // circled digit (NFKC)
  ];
  for (const [raw, want] of same) assert.equal(prepNick(raw), want, JSON.stringify(raw));
  // Case is kept, as in Resourceprep.
  assert.equal(prepNick("alice"), "alice");
  assert.notEqual(prepNick("alice"), prepNick("Alice"));
  assert.equal(prepNick("Mr Smith"), "Mr Smith");
});

Deno.test("muc nick: invisible, reordering and private characters are refused", () => {
  const bad = [
    "",
    "   ",
    "\u00ad", // only a mapped-out character
    "\u202eecilA", // right-to-left override (C.8)
    "A\u200elice", // left-to-right mark (C.8)
    "Alice\u{e0041}", // tag (C.9)
    "Al\ue000ice", // private use (C.3)
    "Al\ufffeice", // non-character (C.4)
    "Al\ufffdice", // replacement character (C.6)
    "Al\u2ff0ice", // ideographic description (C.7)
    "Al\u0085ice", // control (C.2.2)
  ];
  for (const raw of bad) assert.equal(prepNick(raw), undefined, JSON.stringify(raw));
});
