/**
 * The PRECIS IdentifierClass (RFC 8264 §4.2) that a new account's name
 * must belong to, on top of jid.ts's prepLocal, which approximates
 * UsernameCaseMapped well enough to compare addresses but lets symbols,
 * punctuation and unassigned code points through ("alice😀", "a€b").
 * Checked where accounts are named (in-band registration), not on every
 * JID: refusing a remote address for it would buy nothing.
 *
 * Outside ASCII only LetterDigits (RFC 8264 §9.1: Ll Lu Lo Nd Lm Mn Mc)
 * are valid, with RFC 5892's exceptions (§2.6) and the contextual rules
 * (Appendix A) for the characters that need a neighbour.
 */
import { joinControlsInContext } from "./join_controls.ts";

const LETTER_DIGIT = /[\p{Ll}\p{Lu}\p{Lo}\p{Nd}\p{Lm}\p{Mn}\p{Mc}]/u;
/** RFC 5892 §2.6 exceptions that are PVALID although not LetterDigits. */
const EXCEPTION_VALID = new Set(["\u00df", "\u03c2", "\u06fd", "\u06fe", "\u0f0b", "\u3007"]);
/** RFC 5892 §2.6 exceptions that are DISALLOWED although LetterDigits. */
const EXCEPTION_DISALLOWED = /[\u0640\u07fa\u302e\u302f\u3031-\u3035\u303b]/u;
const GREEK = /\p{Script=Greek}/u;
const HEBREW = /\p{Script=Hebrew}/u;
const KANA_HAN = /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u;

/** Whether the prepared localpart `s` is in IdentifierClass. */
export function isIdentifierClass(s: string): boolean {
  const cps = Array.from(s);
  let arabicIndic = false;
  let extendedArabicIndic = false;
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i];
    const code = c.codePointAt(0)!;
    if (code >= 0x21 && code <= 0x7e) continue;
    if (c === "\u200c" || c === "\u200d") continue; // in context: joinControlsInContext
    if (EXCEPTION_VALID.has(c)) continue;
    if (!contextOk(cps, i)) return false;
    if (code >= 0x660 && code <= 0x669) arabicIndic = true;
    if (code >= 0x6f0 && code <= 0x6f9) extendedArabicIndic = true;
  }
  // RFC 5892 A.8/A.9: the two sets of Arabic-Indic digits are not mixed.
  return !(arabicIndic && extendedArabicIndic) && joinControlsInContext(s);
}

/** LetterDigits, or a CONTEXTO character (RFC 5892 A.3-A.7) where its rule holds. */
function contextOk(cps: string[], i: number): boolean {
  const c = cps[i];
  switch (c) {
    case "\u00b7": // MIDDLE DOT: only in Catalan "l·l"
      return cps[i - 1] === "l" && cps[i + 1] === "l";
    case "\u0375": // GREEK LOWER NUMERAL SIGN: before a Greek character
      return i + 1 < cps.length && GREEK.test(cps[i + 1]);
    case "\u05f3":
    case "\u05f4": // HEBREW GERESH, GERSHAYIM: after a Hebrew character
      return i > 0 && HEBREW.test(cps[i - 1]);
    case "\u30fb": // KATAKANA MIDDLE DOT: in Hiragana, Katakana or Han text
      return cps.some((x) => x !== "\u30fb" && KANA_HAN.test(x));
  }
  return LETTER_DIGIT.test(c) && !EXCEPTION_DISALLOWED.test(c);
}
