/**
 * Does a peer's certificate chain validate for a domain? Measured on Deno
 * 2.9: a server-side node:tls socket never verifies client certificates
 * (`authorized` is false with no error) and a secure context built with
 * `ca` breaks the handshake, so incoming s2s chains are checked here with
 * node:crypto: signatures link by link up to a trusted anchor (the system
 * store plus `s2s.caFile`), validity dates, and the name (RFC 6125 via
 * `checkHost`). Outgoing connections use the same check, so both
 * directions apply one policy.
 */
import { rootCertificates } from "node:tls";
import { X509Certificate } from "node:crypto";

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

  /** Verify `chain` (DER, leaf first) for `domain`. */
  verify(chain: Uint8Array[] | undefined, domain: string, now = new Date()): CertVerdict {
    if (!chain || chain.length === 0) return { ok: false, reason: "no certificate" };
    let certs: X509Certificate[];
    try {
      certs = chain.map((der) => new X509Certificate(der));
    } catch {
      return { ok: false, reason: "unparsable certificate" };
    }
    for (const c of certs) {
      if (new Date(c.validFrom) > now || new Date(c.validTo) < now) {
        return { ok: false, reason: `certificate of ${c.subject} is outside its validity` };
      }
    }
    if (certs[0].checkHost(domain) === undefined) {
      return { ok: false, reason: `certificate is not valid for ${domain}` };
    }
    for (let i = 0; i < certs.length; i++) {
      const cert = certs[i];
      if (this.#anchored(cert)) return { ok: true };
      const issuer = certs[i + 1];
      if (!issuer || !issuer.ca || !cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) {
        break;
      }
    }
    const last = certs[certs.length - 1];
    return {
      ok: false,
      reason: last.issuer === last.subject ? "self-signed certificate" : "unknown issuer",
    };
  }

  /** The cert is an anchor itself, or an anchor signed it. */
  #anchored(cert: X509Certificate): boolean {
    for (const a of this.#anchors) {
      if (a.fingerprint256 === cert.fingerprint256) return true;
      if (a.ca && cert.checkIssued(a) && cert.verify(a.publicKey)) return true;
    }
    return false;
  }
}

function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
