/**
 * JIDs (RFC 7622): splitting and an approximation of PRECIS preparation
 * that is good enough to compare addresses — full PRECIS tables and IDNA
 * are not implemented (see each prep function for what is).
 */
import { utf8Length } from "./util/utf8_length.ts";

const MAX_PART_BYTES = 1023;

/** Characters RFC 7622 §3.3.1 forbids in a localpart, plus spaces and controls. */
const LOCAL_FORBIDDEN = /["&'/:<>@\p{Cc}\p{Z}]/u;
/** Controls and separators other than the ASCII space (mapped below). */
const RESOURCE_FORBIDDEN = /[\p{Cc}\u2028\u2029]/u;
/** OpaqueString maps non-ASCII spaces to U+0020 (RFC 8265 §4.2.1). */
const NON_ASCII_SPACE = /[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/gu;
/** UsernameCaseMapped applies width mapping to fullwidth/halfwidth forms. */
const WIDE = /[\uff01-\uffef]/gu;
/**
 * PRECIS disallows default-ignorable code points and noncharacters in
 * every class (RFC 8264 §9.13): invisible, or changing how the text
 * around them displays (a right-to-left override), they let one address
 * pass for another. Refused in localparts, except ZWNJ and ZWJ, which
 * words in Persian and Indic scripts need (PRECIS allows them in context).
 */
const IGNORABLE_IN_LOCAL =
  /(?![\u200c\u200d])[\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}]/u;
/**
 * In resourceparts only what changes the direction of the text around it
 * (bidi marks, embeddings, overrides, isolates) and noncharacters: the
 * invisible ones that stringprep maps to nothing (soft hyphen, zero-width
 * space, variation selectors of emoji) are kept, and room nicks, where
 * look-alikes matter, map them on top (modules/muc/nick.ts).
 */
const IGNORABLE_IN_RESOURCE =
  /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\p{Noncharacter_Code_Point}]/u;
/** IDNA treats these as label separators. */
const IDEO_DOTS = /[\u3002\uff0e\uff61]/g;
/** ASCII in a domain label is letters, digits, hyphen; underscore is tolerated (SRV-like names). */
const DOMAIN_ASCII_BAD = /[^a-z0-9._\-\u0080-\uffff]/;
const NON_ASCII = /[\u0080-\uffff]/;

function fitsBytes(s: string): boolean {
  // Most parts are short: skip the count when even 3 bytes per unit fits.
  return s.length * 3 <= MAX_PART_BYTES || utf8Length(s) <= MAX_PART_BYTES;
}

const widthMap = (c: string) => c.normalize("NFKC");

/** Localpart (UsernameCaseMapped, approximately); undefined when invalid. */
export function prepLocal(s: string): string | undefined {
  if (s.length === 0) return undefined;
  if (!NON_ASCII.test(s)) {
    const out = s.toLowerCase();
    return LOCAL_FORBIDDEN.test(out) || !fitsBytes(out) ? undefined : out;
  }
  const out = s.replace(WIDE, widthMap).toLowerCase().normalize("NFC");
  if (LOCAL_FORBIDDEN.test(out) || !fitsBytes(out) || IGNORABLE_IN_LOCAL.test(out)) {
    return undefined;
  }
  // IdentifierClass disallows compatibility characters (RFC 8264 §9.17,
  // HasCompat) once width is mapped: "\ufb01" would pass for "fi".
  return out === out.normalize("NFKC") ? out : undefined;
}

/** Domainpart: lowercased, one trailing dot removed, labels checked; no IDNA conversion. */
export function prepDomain(s: string): string | undefined {
  if (s.length === 0) return undefined;
  if (s.charCodeAt(0) === 0x5b) return prepIpv6(s);
  let d = s;
  // Width mapping (RFC 7622 §3.2.1 via RFC 5895): fullwidth letters and
  // digits are their ASCII selves, and the fullwidth stop a separator.
  if (NON_ASCII.test(d)) d = d.replace(WIDE, widthMap).replace(IDEO_DOTS, ".").normalize("NFC");
  d = d.toLowerCase();
  if (d.endsWith(".")) d = d.slice(0, -1);
  if (d.length === 0 || !fitsBytes(d) || DOMAIN_ASCII_BAD.test(d)) return undefined;
  if (NON_ASCII.test(d) && /[\p{Cc}\p{Z}\p{Cf}]/u.test(d)) return undefined;
  let start = 0;
  for (;;) {
    const dot = d.indexOf(".", start);
    const len = (dot === -1 ? d.length : dot) - start;
    if (len === 0 || len > 63) return undefined;
    if (dot === -1) break;
    start = dot + 1;
  }
  return d;
}

function prepIpv6(s: string): string | undefined {
  if (!s.endsWith("]") || !/^\[[0-9a-fA-F:.]+\]$/.test(s)) return undefined;
  try {
    // The URL parser is a complete IPv6 literal validator; its form is canonical.
    return new URL("http://" + s).hostname;
  } catch {
    return undefined;
  }
}

/** Resourcepart (OpaqueString, approximately): case kept; undefined when invalid. */
export function prepResource(s: string): string | undefined {
  if (s.length === 0) return undefined;
  let out = s;
  if (NON_ASCII.test(s)) {
    out = s.replace(NON_ASCII_SPACE, " ").normalize("NFC");
    if (IGNORABLE_IN_RESOURCE.test(out)) return undefined;
  }
  if (RESOURCE_FORBIDDEN.test(out) || !fitsBytes(out)) return undefined;
  return out;
}

/** An immutable, prepared JID. Build one with parseJid. */
export class Jid {
  readonly local?: string;
  readonly domain: string;
  readonly resource?: string;
  // The router asks for these constantly; computing them once saves concatenations.
  readonly #bare: string;
  readonly #full: string;

  /** Parts must already be prepared (parseJid and the prep functions do that). */
  constructor(local: string | undefined, domain: string, resource?: string) {
    this.local = local;
    this.domain = domain;
    this.resource = resource;
    this.#bare = local === undefined ? domain : local + "@" + domain;
    this.#full = resource === undefined ? this.#bare : this.#bare + "/" + resource;
  }

  get bare(): string {
    return this.#bare;
  }

  get full(): string {
    return this.#full;
  }

  toString(): string {
    return this.#full;
  }

  /** This JID with another resource (prepared here); throws RangeError if it is invalid. */
  withResource(r: string | undefined): Jid {
    if (r === undefined) {
      return this.resource === undefined ? this : new Jid(this.local, this.domain);
    }
    const prepped = prepResource(r);
    if (prepped === undefined) throw new RangeError("invalid resourcepart");
    return new Jid(this.local, this.domain, prepped);
  }

  equals(o: Jid): boolean {
    return this.#full === o.#full;
  }

  isBare(): boolean {
    return this.resource === undefined;
  }
}

const CACHE_MAX = 10000;
// Invalid strings are cached too (as null) so junk is rejected as cheaply as
// it is accepted; clearing when full bounds memory whatever peers send.
const cache = new Map<string, Jid | null>();

/** Parse and prepare a JID; undefined when any part is invalid. */
export function parseJid(s: string): Jid | undefined {
  const hit = cache.get(s);
  if (hit !== undefined) return hit ?? undefined;
  const jid = parseUncached(s);
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(s, jid ?? null);
  return jid;
}

function parseUncached(s: string): Jid | undefined {
  // RFC 7622 §3.1: the first '/' starts the resource; in what precedes it,
  // the first '@' ends the localpart.
  const slash = s.indexOf("/");
  const head = slash === -1 ? s : s.slice(0, slash);
  const at = head.indexOf("@");
  let local: string | undefined;
  if (at !== -1) {
    local = prepLocal(head.slice(0, at));
    if (local === undefined) return undefined;
  }
  const domain = prepDomain(at === -1 ? head : head.slice(at + 1));
  if (domain === undefined) return undefined;
  let resource: string | undefined;
  if (slash !== -1) {
    resource = prepResource(s.slice(slash + 1));
    if (resource === undefined) return undefined;
  }
  return new Jid(local, domain, resource);
}

/** A character for a message: itself when printable, else its code point. */
function describeChar(c: string): string {
  const code = c.codePointAt(0)!;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  if (c === " ") return `space (${hex})`;
  return /[\p{Cc}\p{Cf}\p{Z}]/u.test(c) ? hex : `'${c}' (${hex})`;
}

function partProblem(
  part: "localpart" | "domainpart" | "resourcepart",
  raw: string,
  forbidden: RegExp,
): string | undefined {
  if (raw.length === 0) return `empty ${part}`;
  const bad = raw.match(forbidden);
  if (bad) return `forbidden character ${describeChar(bad[0])} in ${part}`;
  if (!fitsBytes(raw)) return `${part} longer than ${MAX_PART_BYTES} bytes`;
  return undefined;
}

function domainProblem(raw: string): string | undefined {
  if (raw.length === 0) return "empty domainpart";
  if (raw.charCodeAt(0) === 0x5b) return prepIpv6(raw) ? undefined : "invalid IPv6 address literal";
  const d = raw.toLowerCase().replace(/\.$/, "");
  if (d.length === 0) return "empty domainpart";
  if (!fitsBytes(d)) return `domainpart longer than ${MAX_PART_BYTES} bytes`;
  const bad = d.match(/[^a-z0-9._\-\u0080-\uffff]|[\p{Cc}\p{Z}\p{Cf}]/u);
  if (bad) return `forbidden character ${describeChar(bad[0])} in domainpart`;
  const labels = d.split(".");
  if (labels.some((l) => l.length === 0)) return "empty label in domainpart (two dots in a row?)";
  const long = labels.find((l) => l.length > 63);
  if (long) return `domain label longer than 63 characters ("${long.slice(0, 20)}…")`;
  return prepDomain(raw) === undefined ? "invalid domainpart" : undefined;
}

/**
 * Why `s` is not a valid JID, for messages to people (the CLI, config
 * checks); undefined when it is one. Follows parseJid's steps, so the
 * reason given is the one that made parseJid refuse it.
 */
export function jidProblem(s: string): string | undefined {
  if (parseJid(s) !== undefined) return undefined;
  const slash = s.indexOf("/");
  const head = slash === -1 ? s : s.slice(0, slash);
  const at = head.indexOf("@");
  if (at !== -1) {
    const local = head.slice(0, at);
    const prepped = prepLocal(local);
    if (prepped === undefined) {
      const mapped = NON_ASCII.test(local) ? local.normalize("NFKC").toLowerCase() : local;
      return partProblem("localpart", mapped, LOCAL_FORBIDDEN) ?? "invalid localpart";
    }
  }
  const domain = domainProblem(at === -1 ? head : head.slice(at + 1));
  if (domain) return domain;
  if (slash !== -1) {
    return partProblem("resourcepart", s.slice(slash + 1), RESOURCE_FORBIDDEN) ??
      "invalid resourcepart";
  }
  return "invalid JID";
}
