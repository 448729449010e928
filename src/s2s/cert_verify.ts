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

export class TrustAnchors {
  readonly #anchors: X509Certificate[] = [];
  /** PEM list for node:tls `ca` (client side). */
  readonly pems: string[];

  constructor(extraPem?: string) {
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
    if (!chain || chain.length === 0) return { ok: false, reason: "no certificate" };
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(chain[0]);
    } catch {
      return { ok: false, reason: "unparsable certificate" };
    }
    // The leaf is on every path, so its dates and name are checked first.
    if (!within(leaf, now)) return outside(leaf);
    let named: boolean;
    try {
      named = identifiesDomain(chain[0], domain);
    } catch {
      named = false;
    }
    if (!named) return { ok: false, reason: `certificate is not valid for ${domain}` };
    // An extra certificate that does not parse cannot be on the path: skip it.
    const sent: X509Certificate[] = [];
    for (const der of chain.slice(1, MAX_SENT)) {
      try {
        sent.push(new X509Certificate(der));
      } catch {
        // not a path candidate
      }
    }
    const found = this.#walk([leaf], sent, now, { visits: 0 });
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
  #walk(
    path: X509Certificate[],
    sent: X509Certificate[],
    now: Date,
    budget: { visits: number },
  ): PathOutcome {
    budget.visits++;
    const cert = path[path.length - 1];
    let best: PathOutcome = { kind: "dead-end", end: cert, depth: path.length };
    for (const anchor of this.#anchorsOf(cert)) {
      const stale = [...path, anchor].find((c) => !within(c, now));
      if (!stale) return { kind: "ok" };
      best = better(best, { kind: "expired", cert: stale });
    }
    for (const issuer of sent) {
      if (path.length >= MAX_DEPTH || budget.visits >= MAX_VISITS) break;
      if (path.includes(issuer) || !issued(issuer, cert)) continue;
      const outcome = this.#walk([...path, issuer], sent, now, budget);
      if (outcome.kind === "ok") return outcome;
      best = better(best, outcome);
    }
    return best;
  }

  /** Anchors that are `cert` itself or signed it. */
  *#anchorsOf(cert: X509Certificate): Generator<X509Certificate> {
    for (const a of this.#anchors) {
      if (a.fingerprint256 === cert.fingerprint256 || issued(a, cert)) yield a;
    }
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

function issued(issuer: X509Certificate, cert: X509Certificate): boolean {
  return issuer.ca && cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
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
