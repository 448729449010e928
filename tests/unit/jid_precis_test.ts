/**
 * RFC 7622 preparation found in review: the domainpart's width mapping
 * (RFC 7622 §3.2 via RFC 5895), and characters PRECIS disallows that
 * would let one address pass for another (RFC 8264 §9: invisible and
 * bidirectional controls, noncharacters; compatibility characters in a
 * localpart, IdentifierClass; in a resourcepart only direction controls
 * and noncharacters).
 */
import assert from "node:assert/strict";
import { jidProblem, parseJid, prepDomain, prepLocal, prepResource } from "../../src/jid.ts";

Deno.test("fullwidth letters and digits in a domainpart map to their ASCII forms", () => {
  assert.equal(
    prepDomain("\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\uff0e\uff43\uff4f\uff4d"),
    "example.com",
  );
  assert.equal(parseJid("juliet@\uff25xample.com/r")?.full, "juliet@example.com/r");
  assert.equal(prepDomain("host\uff11.example"), "host1.example");
});

Deno.test("invisible and direction-changing characters are refused in localparts", () => {
  const hidden = [
    "\u00ad", // soft hyphen
    "\u200b", // zero width space
    "\u200e", // left-to-right mark
    "\u202e", // right-to-left override: "alice\u202ecod" displays as "alicedoc"
    "\u2066", // left-to-right isolate
    "\u2060", // word joiner
    "\ufeff", // zero width no-break space
    "\ufdd0", // noncharacter
    "\uffff", // noncharacter
  ];
  for (const c of hidden) {
    const name = JSON.stringify(c);
    assert.equal(prepLocal("ali" + c + "ce"), undefined, name);
    assert.equal(parseJid("ali" + c + "ce@example.com"), undefined, name);
    assert.ok(jidProblem("ali" + c + "ce@example.com"), name);
  }
  // ZWNJ, which Persian words need, stays.
  const persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645";
  assert.equal(prepLocal(persian), persian);
});

Deno.test("direction-changing characters and noncharacters are refused in resourceparts", () => {
  for (
    const c of ["\u200e", "\u200f", "\u202a", "\u202e", "\u2066", "\u2069", "\u061c", "\ufdd0"]
  ) {
    assert.equal(prepResource("phone" + c), undefined, JSON.stringify(c));
    assert.equal(parseJid("room@muc.example.com/" + c + "ecilA"), undefined, JSON.stringify(c));
  }
  // Emoji sequences (ZWJ, variation selectors) stay; so do the invisible
  // characters stringprep maps to nothing: room nicks map them themselves.
  assert.equal(prepResource("\u2764\ufe0f"), "\u2764\ufe0f");
  assert.equal(prepResource("\ud83d\udc68\u200d\ud83d\udc69"), "\ud83d\udc68\u200d\ud83d\udc69");
  assert.equal(prepResource("Ali\u00adce"), "Ali\u00adce");
});

Deno.test("compatibility characters are refused in a localpart, kept in a resourcepart", () => {
  // IdentifierClass disallows them (HasCompat): "ﬁ" would pass for "fi".
  for (const s of ["\ufb01x", "\u2163", "x\u00b2", "\u00bd"]) {
    assert.equal(prepLocal(s), undefined, JSON.stringify(s));
  }
  // FreeformClass (OpaqueString) allows them.
  assert.equal(prepResource("\ufb01x"), "\ufb01x");
  // Fullwidth forms are mapped first (width mapping), not refused.
  assert.equal(prepLocal("\uff21\uff42"), "ab");
});
