/** What an operator needs to know about a certificate/key pair for one domain. */
import { leafCertificate } from "./pem.ts";
import { PemConverter } from "./x509.ts";
import { certificateNames, namesCover } from "./names.ts";
import { privateKeyMatches } from "./keys.ts";

const DAY_MS = 86_400_000;

export interface CertificateReport {
  subjectNames: string[];
  notBefore: Date;
  notAfter: Date;
  expired: boolean;
  /** Whole days left; negative once expired. */
  expiresInDays: number;
  coversDomain: boolean;
  keyMatches: boolean;
  /** Why the key could not be compared (encrypted, unreadable …); absent when it could. */
  keyProblem?: string;
  selfSigned: boolean;
}

export async function inspectCertificate(
  certPem: string,
  keyPem: string,
  domain: string,
  now: Date = new Date(),
): Promise<CertificateReport> {
  const cert = leafCertificate(certPem);
  const subjectNames = certificateNames(cert);
  const key = privateKeyMatches(keyPem, new Uint8Array(cert.publicKey.rawData));
  const remaining = cert.notAfter.getTime() - now.getTime();
  return {
    subjectNames,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    expired: remaining <= 0,
    expiresInDays: Math.floor(remaining / DAY_MS),
    coversDomain: namesCover(subjectNames, domain),
    keyMatches: key.matches,
    ...(key.problem ? { keyProblem: key.problem } : {}),
    // A CA-issued leaf has a different issuer; checking the signature too
    // tells a self-signed cert from one whose issuer merely shares its name.
    selfSigned: cert.issuer === cert.subject && await cert.isSelfSigned().catch(() => false),
  };
}

/**
 * Every certificate of a PEM file as DER, in file order (leaf first, then
 * the intermediates): the chain the server sends in its TLS handshake.
 */
export function pemChain(certPem: string): Uint8Array[] {
  return PemConverter.decodeWithHeaders(certPem)
    .filter((block) => block.type === "CERTIFICATE")
    .map((block) => new Uint8Array(block.rawData));
}
