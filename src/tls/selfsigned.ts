/**
 * A self-signed certificate for hosts without one, so that a fresh install
 * offers TLS (and can authenticate) at once. ECDSA P-256: small, fast, and
 * accepted by every XMPP client's TLS stack.
 */
import {
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  type Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  X509CertificateGenerator,
} from "./x509.ts";

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
/** The signature algorithm for ALGORITHM keys. */
export const SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;
const VALIDITY_DAYS = 365;

export interface GeneratedPair {
  certPem: string;
  keyPem: string;
}

/** Every name is included, plus `*.name` so components like `conference.name` are covered. */
export function selfSignedNames(domains: readonly string[]): string[] {
  const names = domains.flatMap((d) => [d.toLowerCase(), `*.${d.toLowerCase()}`]);
  return [...new Set(names)];
}

export async function generateSelfSigned(
  domains: readonly string[],
  now: Date = new Date(),
): Promise<GeneratedPair> {
  const keys = await newKeyPair();
  const cert = await X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${domains[0]}`,
    // Backdated an hour so a peer with a slightly slow clock still accepts it.
    notBefore: new Date(now.getTime() - 3_600_000),
    notAfter: new Date(now.getTime() + VALIDITY_DAYS * 86_400_000),
    signingAlgorithm: SIGNING,
    keys,
    extensions: [
      ...serverExtensions(),
      new SubjectAlternativeNameExtension(
        selfSignedNames(domains).map((value) => ({ type: "dns" as const, value })),
      ),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await privateKeyPem(keys) };
}

/** A new ECDSA P-256 key pair, extractable so the private key can be written out. */
export function newKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
}

/** 16 random bytes in hex, a positive INTEGER as RFC 5280 §4.1.2.2 requires. */
export function randomSerial(): string {
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f;
  return Array.from(serial, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A server certificate's extensions, its SAN aside: no CA, signs, TLS server and client. */
export function serverExtensions(): Extension[] {
  return [
    new BasicConstraintsExtension(false, undefined, true),
    new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
    new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth, ExtendedKeyUsage.clientAuth]),
  ];
}

/** The private key as PKCS#8 PEM ("PRIVATE KEY"). */
export async function privateKeyPem(keys: CryptoKeyPair): Promise<string> {
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  return toPem("PRIVATE KEY", pkcs8);
}

function toPem(label: string, der: Uint8Array): string {
  const b64 = btoa(String.fromCharCode(...der));
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
