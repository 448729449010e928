/**
 * The `tls-server-end-point` channel binding (RFC 5929 §4.1): a hash of
 * our own certificate. It is the only binding Deno lets us compute (no
 * tls-unique, no tls-exporter), and SCRAM-*-PLUS depends on it.
 */
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the
// Reflect metadata API present before the library loads.
import "reflect-metadata";
import { PemConverter, X509Certificate } from "@peculiar/x509";

type BindingHash = "SHA-256" | "SHA-384" | "SHA-512";

// Signature OIDs @peculiar/x509 may report without a hash; RFC 5929 says
// MD5 and SHA-1 are replaced by SHA-256.
const WEAK_SIGNATURE_OIDS = new Set([
  "1.2.840.113549.1.1.4", // md5WithRSAEncryption
  "1.2.840.113549.1.1.5", // sha1WithRSAEncryption
  "1.2.840.10045.4.1", // ecdsa-with-SHA1
  "1.2.840.10040.4.3", // dsa-with-sha1
]);

function bindingHash(cert: X509Certificate): BindingHash {
  const algorithm = cert.signatureAlgorithm as { name: string; hash?: { name?: string } | string };
  const hash = typeof algorithm.hash === "string" ? algorithm.hash : algorithm.hash?.name;
  switch (hash?.toUpperCase()) {
    case "MD5":
    case "SHA-1":
    case "SHA-256":
      return "SHA-256";
    case "SHA-384":
      return "SHA-384";
    case "SHA-512":
      return "SHA-512";
  }
  if (hash === undefined && WEAK_SIGNATURE_OIDS.has(algorithm.name)) return "SHA-256";
  // RFC 5929 leaves signatures with no single hash (Ed25519, …) undefined;
  // guessing would make every -PLUS login fail, so the caller should not
  // advertise -PLUS at all.
  throw new Error(`tls-server-end-point is undefined for signature algorithm ${algorithm.name}`);
}

/**
 * The binding data for our certificate (DER). Throws when RFC 5929 defines
 * none for its signature algorithm; then do not offer -PLUS.
 */
export async function tlsServerEndPoint(certDer: Uint8Array): Promise<Uint8Array> {
  const der = new Uint8Array(certDer);
  const hash = bindingHash(new X509Certificate(der));
  return new Uint8Array(await crypto.subtle.digest(hash, der));
}

/** The DER of the first certificate in a PEM chain (the leaf, by convention). */
export function pemToDer(pem: string): Uint8Array {
  const first = PemConverter.decodeWithHeaders(pem).find((s) => s.type === "CERTIFICATE");
  if (!first) throw new Error("no CERTIFICATE block in PEM");
  return new Uint8Array(first.rawData);
}
