/**
 * PRECIS allows ZERO WIDTH JOINER and NON-JOINER only in context
 * (CONTEXTJ, RFC 8264 §9.8 via RFC 5892 Appendix A.1/A.2): after a virama,
 * or (ZWNJ) between letters of a cursive script. Anywhere else they are
 * invisible, so "a\u200db" would pass for "ab". JavaScript regular
 * expressions know neither the combining class nor the joining type, so
 * both are approximated: the viramas listed below, and letters of the
 * scripts that join (a right-joining letter before a ZWNJ passes too).
 * Applied where accounts are named (a new account's username), not to
 * every JID: refusing a remote address for it would buy nothing.
 */

/** Canonical_Combining_Class=Virama in the scripts where joiners are used. */
const VIRAMA =
  /[\u094d\u09cd\u0a4d\u0acd\u0b4d\u0bcd\u0c4d\u0ccd\u0d3b\u0d3c\u0d4d\u0dca\u0e3a\u0eba\u0f84\u1039\u103a\u1714\u1734\u17d2\u1a60\u1b44\u1baa\u1bab\u1bf2\u1bf3\u2d7f\ua806\ua8c4\ua953\ua9c0\uaaf6\uabed]|\u{10a3f}|[\u{11046}\u{110b9}\u{11133}\u{11134}\u{111c0}\u{11235}\u{112ea}\u{1134d}\u{11442}\u{114c2}\u{115bf}\u{1163f}\u{116b6}\u{1172b}\u{11839}\u{1193d}\u{1193e}\u{119e0}\u{11a34}\u{11a47}\u{11a99}\u{11c3f}\u{11d44}\u{11d45}\u{11d97}]/u;

/** A letter of a script whose letters join (Joining_Type L, D or R). */
const JOINING_LETTER =
  /[\p{Script=Arabic}\p{Script=Syriac}\p{Script=Nko}\p{Script=Mongolian}\p{Script=Mandaic}\p{Script=Manichaean}\p{Script=Psalter_Pahlavi}\p{Script=Adlam}\p{Script=Hanifi_Rohingya}\p{Script=Sogdian}\p{Script=Phags_Pa}]/u;
const LETTER = /\p{L}/u;
/** Transparent (Joining_Type T): the marks that may stand between a letter and a ZWNJ. */
const TRANSPARENT = /[\p{Mn}\p{Me}]/u;

/** Whether every ZWJ and ZWNJ in `s` (a prepared localpart) stands where PRECIS allows it. */
export function joinControlsInContext(s: string): boolean {
  if (!s.includes("\u200c") && !s.includes("\u200d")) return true;
  const cps = Array.from(s);
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i];
    if (c !== "\u200c" && c !== "\u200d") continue;
    if (i > 0 && VIRAMA.test(cps[i - 1])) continue;
    if (c === "\u200d" || !joinsAround(cps, i)) return false;
  }
  return true;
}

/** (L|D) T* ZWNJ T* (R|D), with "a letter of a joining script" for L, D and R. */
function joinsAround(cps: string[], at: number): boolean {
  const joining = (c: string) => JOINING_LETTER.test(c) && LETTER.test(c);
  const skip = (i: number, step: number) => {
    while (i >= 0 && i < cps.length && TRANSPARENT.test(cps[i])) i += step;
    return i;
  };
  const before = skip(at - 1, -1);
  const after = skip(at + 1, 1);
  return before >= 0 && after < cps.length && joining(cps[before]) && joining(cps[after]);
}
