/**
 * Does a peer's certificate chain validate for a domain? Measured on Deno
 * 2.9: a server-side node:tls socket never verifies client certificates
 * (`authorized` is false with no error) and a secure context built with
 * `ca` breaks the handshake, so incoming s2s chains are checked here with
 * node:crypto: a path is built from the leaf through the certificates the
 * peer sent (in any order) to a trusted anchor (the system store plus
 * `s2s.caFile`), signatures link by link; validity dates are checked on
 * that path only, since peers often send extra or cross-signed
 * certificates (expired ones too) that a verifier ignores; the name is
 * matched as an XMPP server identity (DNS-ID, SRV-ID, XmppAddr, CN
 * fallback: see src/tls/xmpp_identity.ts). Outgoing connections use the
 * same check, so both directions apply one policy.
 */
import { rootCertificates } from "node:tls";
import { X509Certificate } from "node:crypto";
import { identifiesDomain } from "../tls/xmpp_identity.ts";

/**
 * Bounds on path building, so a peer sending many certificates that sign
 * one another cannot make the search explode: the longest path (leaf and
 * intermediates), the most sent certificates looked at, and the most
 * certificates visited in one search.
 */
const MAX_DEPTH = 8;
const MAX_SENT = 16;
const MAX_VISITS = 64;

export interface CertVerdict {
  ok: boolean;
  /** Why not, for logs ("self-signed", "not valid for x" …). */
  reason?: string;
}

/** Does `issuer`'s key verify `cert`'s signature? Injectable so tests can count the checks. */
export type SignatureCheck = (cert: X509Certificate, issuer: X509Certificate) => boolean;

const checkSignature: SignatureCheck = (cert, issuer) => cert.verify(issuer.publicKey);

/**
 * One verification's state: the visit budget, and each answer to "did
 * this certificate issue that one?", so that a pair costs at most one
 * signature check however often the search comes back to it (certificates
 * that all sign one another, with keys the peer chose, before it has
 * authenticated).
 */
interface Search {
  sent: X509Certificate[];
  now: Date;
  visits: number;
  /** leaf → 0, sent[i] → i + 1 */
  index: Map<X509Certificate, number>;
  /** "issuer cert" (indexes) → issued */
  issued: Map<string, boolean>;
  /** cert index → the anchors that are it or signed it */
  anchors: Map<number, X509Certificate[]>;
}

export class TrustAnchors {
  readonly #anchors: X509Certificate[] = [];
  /** PEM list for node:tls `ca` (client side). */
  readonly pems: string[];
  readonly #check: SignatureCheck;

  constructor(extraPem?: string, check: SignatureCheck = checkSignature) {
    this.#check = check;
    const extra = extraPem ? splitPem(extraPem) : [];
    this.pems = [...rootCertificates, ...extra];
    for (const pem of this.pems) {
      try {
        this.#anchors.push(new X509Certificate(pem));
      } catch {
        // An unparsable system root is simply not an anchor.
      }
    }
  }

  static async load(caFile: string | undefined): Promise<TrustAnchors> {
    return new TrustAnchors(caFile ? await Deno.readTextFile(caFile) : undefined);
  }

  /** Verify `chain` (DER, leaf first, then whatever else the peer sent) for `domain`. */
  verify(chain: Uint8Array[] | undefined, domain: string, now = new Date()): CertVerdict {
    return this.verifier(chain, now)(domain);
  }

  /**
   * `verify` for one chain and any number of domains: the leaf is parsed
   * and the path to an anchor searched once, on the first domain the leaf
   * names; each domain then costs only its name check. A peer names as
   * many domains as it likes (db:result, SASL retries), and a chain it
   * crafted can make each search cost many signature checks.
   */
  verifier(chain: Uint8Array[] | undefined, now = new Date()): (domain: string) => CertVerdict {
    if (!chain || chain.length === 0) return () => ({ ok: false, reason: "no certificate" });
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(chain[0]);
    } catch {
      return () => ({ ok: false, reason: "unparsable certificate" });
    }
    // The leaf is on every path, so its dates and name are checked first.
    if (!within(leaf, now)) return () => outside(leaf);
    let path: CertVerdict | undefined;
    return (domain) => {
      let named: boolean;
      try {
        named = identifiesDomain(chain[0], domain);
      } catch {
        named = false;
      }
      if (!named) return { ok: false, reason: `certificate is not valid for ${domain}` };
      path ??= this.#searchPath(leaf, chain, now);
      return path;
    };
  }

  /** The path from `leaf` through the rest of `chain` to an anchor, as a verdict. */
  #searchPath(leaf: X509Certificate, chain: Uint8Array[], now: Date): CertVerdict {
    // An extra certificate that does not parse cannot be on the path: skip it.
    const sent: X509Certificate[] = [];
    for (const der of chain.slice(1, MAX_SENT)) {
      try {
        sent.push(new X509Certificate(der));
      } catch {
        // not a path candidate
      }
    }
    const index = new Map([leaf, ...sent].map((c, i) => [c, i]));
    const search: Search = { sent, now, visits: 0, index, issued: new Map(), anchors: new Map() };
    const found = this.#walk([leaf], search);
    if (found.kind === "ok") return { ok: true };
    if (found.kind === "expired") return outside(found.cert);
    return {
      ok: false,
      reason: found.end.issuer === found.end.subject ? "self-signed certificate" : "unknown issuer",
    };
  }

  /**
   * Depth-first path building from the last certificate of `path`: done
   * when an anchor is that certificate or signed it, otherwise on through
   * each sent CA certificate that signed it. A path reaching an anchor
   * with a certificate outside its dates is remembered, and the search
   * goes on for another (an expired cross-sign next to a valid one).
   */
  #walk(path: X509Certificate[], search: Search): PathOutcome {
    const { sent, now } = search;
    search.visits++;
    const cert = path[path.length - 1];
    let best: PathOutcome = { kind: "dead-end", end: cert, depth: path.length };
    for (const anchor of this.#anchorsOf(cert, search)) {
      const stale = [...path, anchor].find((c) => !within(c, now));
      if (!stale) return { kind: "ok" };
      best = better(best, { kind: "expired", cert: stale });
    }
    for (const issuer of sent) {
      if (path.length >= MAX_DEPTH || search.visits >= MAX_VISITS) break;
      if (path.includes(issuer) || !this.#issuedOnce(issuer, cert, search)) continue;
      const outcome = this.#walk([...path, issuer], search);
      if (outcome.kind === "ok") return outcome;
      best = better(best, outcome);
    }
    return best;
  }

  /** `issued(issuer, cert)`, worked out once per pair in a search. */
  #issuedOnce(issuer: X509Certificate, cert: X509Certificate, search: Search): boolean {
    const key = search.index.get(issuer) + " " + search.index.get(cert);
    let known = search.issued.get(key);
    if (known === undefined) {
      known = issued(issuer, cert, this.#check);
      search.issued.set(key, known);
    }
    return known;
  }

  /** Anchors that are `cert` itself or signed it (worked out once per certificate). */
  #anchorsOf(cert: X509Certificate, search: Search): X509Certificate[] {
    const i = search.index.get(cert)!;
    let found = search.anchors.get(i);
    if (found === undefined) {
      found = this.#anchors.filter((a) =>
        a.fingerprint256 === cert.fingerprint256 || issued(a, cert, this.#check)
      );
      search.anchors.set(i, found);
    }
    return found;
  }
}

type PathOutcome =
  | { kind: "ok" }
  | { kind: "expired"; cert: X509Certificate }
  | { kind: "dead-end"; end: X509Certificate; depth: number };

/** A path to an anchor with stale dates says more than a dead end; a longer dead end more than a short one. */
function better(a: PathOutcome, b: PathOutcome): PathOutcome {
  if (a.kind === "expired") return a;
  if (b.kind !== "dead-end") return b;
  return a.kind === "dead-end" && a.depth >= b.depth ? a : b;
}

function issued(issuer: X509Certificate, cert: X509Certificate, check: SignatureCheck): boolean {
  return issuer.ca && cert.checkIssued(issuer) && check(cert, issuer);
}

function within(cert: X509Certificate, now: Date): boolean {
  return new Date(cert.validFrom) <= now && now <= new Date(cert.validTo);
}

function outside(cert: X509Certificate): CertVerdict {
  return { ok: false, reason: `certificate of ${cert.subject} is outside its validity` };
}
function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
