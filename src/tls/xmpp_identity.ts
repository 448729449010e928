/**
 * Does a server certificate identify an XMPP domain? RFC 6120 §13.7.1.2.1
 * with RFC 6125 and XEP-0178: the domain may appear in the SAN as a DNS-ID
 * (dNSName, `*` allowed as the whole left-most label), an SRV-ID (otherName
 * id-on-dnsSRV, `_xmpp-server.<domain>` or XEP-0368's `_xmpps-server.`)
 * or an XmppAddr (otherName id-on-xmppAddr, the domain as UTF8String). The
 * subject CN counts only when the SAN carries none of these (nor a URI-ID),
 * RFC 6125 §6.4.4. Prosody and ejabberd certificates often carry
 * XmppAddr/SRV-ID, which a plain host-name check would miss.
 */
import { domainToASCII } from "node:url";
import { SubjectAlternativeNameExtension, X509Certificate } from "./x509.ts";

const ID_ON_XMPP_ADDR = "1.3.6.1.5.5.7.8.5";
const ID_ON_DNS_SRV = "1.3.6.1.5.5.7.8.7";
const SRV_SERVICES = ["_xmpp-server.", "_xmpps-server."];

/** The identifiers a certificate presents, as written in it (lower-cased). */
export interface PresentedIdentifiers {
  dns: string[];
  srv: string[];
  xmppAddr: string[];
  /** Subject CNs, empty when the SAN holds an identifier RFC 6125 ranks above them. */
  cn: string[];
}

export function presentedIdentifiers(der: Uint8Array): PresentedIdentifiers {
  const cert = new X509Certificate(new Uint8Array(der));
  const ids: PresentedIdentifiers = { dns: [], srv: [], xmppAddr: [], cn: [] };
  let uris = 0;
  const san = cert.getExtension(SubjectAlternativeNameExtension);
  if (san) {
    for (const name of san.names.items) {
      if (name.type === "dns") ids.dns.push(name.value.toLowerCase());
      if (name.type === "url") uris++;
    }
    // @peculiar/x509 drops otherName types it does not know, so read those from the DER.
    for (const other of otherNames(new Uint8Array(san.value))) {
      if (other.typeId === ID_ON_XMPP_ADDR && other.tag === UTF8_STRING) {
        ids.xmppAddr.push(other.text.toLowerCase());
      } else if (other.typeId === ID_ON_DNS_SRV && other.tag === IA5_STRING) {
        ids.srv.push(other.text.toLowerCase());
      }
    }
  }
  if (ids.dns.length + ids.srv.length + ids.xmppAddr.length + uris === 0) {
    ids.cn = cert.subjectName.getField("CN").map((cn) => cn.toLowerCase());
  }
  return ids;
}

/** Whether the certificate (DER) identifies `domain` as an XMPP server. */
export function identifiesDomain(der: Uint8Array, domain: string): boolean {
  return identifiersCover(presentedIdentifiers(der), domain);
}

export function identifiersCover(ids: PresentedIdentifiers, domain: string): boolean {
  const ref = asciiDomain(domain);
  if (!ref) return false;
  if (ids.dns.some((n) => dnsIdCovers(n, ref))) return true;
  if (ids.cn.some((n) => dnsIdCovers(n, ref))) return true;
  // SRV-IDs and XmppAddrs name the domain exactly: no wildcards (RFC 6125 §6.4.3
  // defines them for DNS-IDs only; RFC 6120 §13.7.1.4 forbids them in XmppAddr).
  if (ids.xmppAddr.some((a) => asciiDomain(a) === ref)) return true;
  return ids.srv.some((s) =>
    SRV_SERVICES.some((svc) => s.startsWith(svc) && asciiDomain(s.slice(svc.length)) === ref)
  );
}

/**
 * A DNS-ID (or CN) against an A-label reference domain. `*` only as the
 * whole left-most label, standing for exactly one non-empty label, and
 * never directly above a single-label name (`*.com`); partial-label
 * wildcards (`f*.example.com`) are refused, as RFC 9525 now requires.
 */
export function dnsIdCovers(presented: string, ref: string): boolean {
  const name = trimDot(presented.toLowerCase());
  if (!name.includes("*")) return name === ref;
  if (!name.startsWith("*.")) return false;
  const parent = name.slice(2);
  if (parent.includes("*") || !parent.includes(".")) return false;
  const dot = ref.indexOf(".");
  return dot > 0 && ref.slice(dot + 1) === parent;
}

/** Lower-case A-label form (IDNA), so U-label XmppAddrs meet A-label DNS-IDs. */
function asciiDomain(domain: string): string {
  const d = trimDot(domain.toLowerCase());
  if (d === "" || d.includes("*") || d.includes("@") || d.includes("/")) return "";
  return domainToASCII(d) || d;
}

function trimDot(name: string): string {
  return name.endsWith(".") ? name.slice(0, -1) : name;
}

// --- A minimal DER reader for GeneralNames' otherName entries ---

const SEQUENCE = 0x30;
const OID = 0x06;
const UTF8_STRING = 0x0c;
const IA5_STRING = 0x16;
/** [0] constructed: otherName inside GeneralName, and its EXPLICIT value. */
const CONTEXT_0 = 0xa0;

export interface Tlv {
  tag: number;
  body: Uint8Array;
}

interface OtherName {
  typeId: string;
  /** Tag of the value inside the explicit [0]. */
  tag: number;
  text: string;
}

/**
 * The otherName entries of a DER GeneralNames. A malformed entry is left
 * out (never matched); a SAN whose outer structure is malformed yields none.
 */
export function otherNames(generalNames: Uint8Array): OtherName[] {
  const out: OtherName[] = [];
  let entries: Tlv[];
  try {
    const [seq] = readAll(generalNames);
    if (!seq || seq.tag !== SEQUENCE) return out;
    entries = readAll(seq.body);
  } catch {
    return out; // A SAN we cannot read presents no otherName identifiers.
  }
  for (const gn of entries) {
    if (gn.tag !== CONTEXT_0) continue;
    try {
      const [oid, wrapped] = readAll(gn.body);
      if (oid?.tag !== OID || wrapped?.tag !== CONTEXT_0) continue;
      const typeId = decodeOid(oid.body);
      const [value] = readAll(wrapped.body);
      if (typeId === undefined || !value) continue;
      out.push({
        typeId,
        tag: value.tag,
        text: new TextDecoder("utf-8", { fatal: true }).decode(value.body),
      });
    } catch {
      // This entry is malformed: it identifies nothing.
    }
  }
  return out;
}

/** The TLVs `bytes` holds, in order; throws on anything truncated or unsupported. Exported for tests. */
export function readAll(bytes: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let i = 0;
  while (i < bytes.length) {
    const tag = bytes[i++];
    if ((tag & 0x1f) === 0x1f) throw new Error("multi-byte tags are not used here");
    let len = bytes[i++];
    if (len === undefined) throw new Error("truncated");
    if (len & 0x80) {
      const count = len & 0x7f;
      if (count === 0 || count > 4) throw new Error("unsupported length");
      // A length cut off by the end of the data is malformed, not a NaN taken as 0.
      if (i + count > bytes.length) throw new Error("truncated");
      len = 0;
      for (let k = 0; k < count; k++) len = len * 256 + bytes[i++];
    }
    if (i + len > bytes.length) throw new Error("truncated");
    out.push({ tag, body: bytes.subarray(i, i + len) });
    i += len;
  }
  return out;
}

/**
 * Dotted form of an OID body; undefined when malformed: empty, or ending
 * mid-arc (a last byte with the continuation bit set), which must not read
 * as the OID without that byte. Exported for tests.
 */
export function decodeOid(body: Uint8Array): string | undefined {
  if (body.length === 0 || body[body.length - 1] & 0x80) return undefined;
  const arcs: number[] = [];
  let value = 0;
  for (const b of body) {
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (arcs.length === 0) {
        arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      } else arcs.push(value);
      value = 0;
    }
  }
  return arcs.join(".");
}
