/**
 * Room nicks, prepared as XEP-0045 §7 says (the Resourceprep profile of
 * stringprep, RFC 6122 appendix B) on top of the router's RFC 7622
 * resourcepart: characters commonly mapped to nothing are removed (table
 * B.1: soft hyphen, zero-width space and joiners, variation selectors),
 * then NFKC (fullwidth letters, ligatures, compatibility forms), and
 * what changes display or is invisible is refused (tables C.2.2, C.3,
 * C.4, C.6, C.8, C.9: bidi overrides, tags, private use). So two nicks
 * that look alike prepare to one string and collide, and a nick cannot
 * show itself reversed or hide characters. A nick of spaces only is no
 * nick (XEP-0045 1.21: "roomnicks must not consist only of spaces").
 */
import { prepResource } from "../../jid.ts";

/** Table B.1: commonly mapped to nothing. */
const MAPPED_TO_NOTHING =
  /[\u00ad\u034f\u1806\u180b-\u180d\u200b-\u200d\u2060\ufe00-\ufe0f\ufeff]/gu;

/**
 * Refused after mapping: controls (C.2), format characters (bidi marks and
 * overrides C.8, tags C.9, the other invisible ones of C.2.2), private use
 * (C.3), lone surrogates (C.5), non-characters (C.4), the replacement
 * characters and ideographic description characters (C.6, C.7).
 */
const PROHIBITED =
  /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\u0340\u0341\u2028\u2029\u2ff0-\u2ffb\ufdd0-\ufdef\ufff9-\ufffd\u{1fffe}\u{1ffff}\u{2fffe}\u{2ffff}\u{efffe}\u{effff}\u{ffffe}\u{fffff}\u{10fffe}\u{10ffff}\ufffe\uffff]/u;

/**
 * The prepared form of a nick, or undefined when it cannot be one. The
 * resourcepart first, here, so a nick from a room JID (prepared already:
 * it does nothing again), from a registration form, an admin item or
 * storage is prepared one way.
 */
export function prepNick(raw: string): string | undefined {
  const resource = prepResource(raw);
  if (resource === undefined) return undefined;
  const nick = resource.replace(MAPPED_TO_NOTHING, "").normalize("NFKC");
  if (nick.length === 0 || nick.trim().length === 0 || PROHIBITED.test(nick)) return undefined;
  return nick;
}
