/**
 * A private certificate authority for tests, built with the same X.509
 * library as the server (no openssl CLI needed): a root, optionally an
 * intermediate, and leaf certificates for server domains that Parley's own
 * chain check and Prosody (OpenSSL) both accept.
 */
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  type Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  PemConverter,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  type X509Certificate,
  X509CertificateGenerator,
} from "../../src/tls/x509.ts";

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;
const DAY_MS = 86_400_000;

export interface PemPair {
  certPem: string;
  keyPem: string;
}

export interface TestCa extends PemPair {
  /** A server certificate for `domains` (SAN dNSNames), signed by this CA. */
  issue(domains: string[]): Promise<PemPair>;
  /** A CA signed by this one; its `certPem` is the intermediate alone. */
  intermediate(name: string): Promise<TestCa>;
}

/** A root CA named `CN=<name>`. */
export async function createTestCa(name = "Parley Test CA"): Promise<TestCa> {
  const keys = await newKeys();
  const cert = await X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}`,
    ...validity(),
    signingAlgorithm: SIGNING,
    keys,
    extensions: await caExtensions(keys.publicKey, keys.publicKey),
  });
  return { ...authority(cert, keys), keyPem: await keyPem(keys) };
}

function authority(cert: X509Certificate, keys: CryptoKeyPair): TestCa {
  const signed = async (subject: string, publicKey: CryptoKey, extensions: Extension[]) =>
    await X509CertificateGenerator.create({
      serialNumber: serial(),
      subject,
      issuer: cert.subject,
      ...validity(),
      signingAlgorithm: SIGNING,
      publicKey,
      signingKey: keys.privateKey,
      extensions,
    });
  return {
    certPem: cert.toString("pem") + "\n",
    keyPem: "",
    async issue(domains) {
      const leafKeys = await newKeys();
      const leaf = await signed(`CN=${domains[0]}`, leafKeys.publicKey, [
        new BasicConstraintsExtension(false, undefined, true),
        new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
        new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth, ExtendedKeyUsage.clientAuth]),
        new SubjectAlternativeNameExtension(
          domains.map((value) => ({ type: "dns" as const, value })),
        ),
        await SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
        await AuthorityKeyIdentifierExtension.create(keys.publicKey),
      ]);
      return { certPem: leaf.toString("pem") + "\n", keyPem: await keyPem(leafKeys) };
    },
    async intermediate(name) {
      const subKeys = await newKeys();
      const sub = await signed(
        `CN=${name}`,
        subKeys.publicKey,
        await caExtensions(subKeys.publicKey, keys.publicKey),
      );
      return { ...authority(sub, subKeys), keyPem: await keyPem(subKeys) };
    },
  };
}

async function caExtensions(own: CryptoKey, issuer: CryptoKey): Promise<Extension[]> {
  return [
    new BasicConstraintsExtension(true, undefined, true),
    new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
    await SubjectKeyIdentifierExtension.create(own),
    await AuthorityKeyIdentifierExtension.create(issuer),
  ];
}

function newKeys(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;
}

async function keyPem(keys: CryptoKeyPair): Promise<string> {
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return PemConverter.encode(pkcs8, "PRIVATE KEY") + "\n";
}

/** Backdated an hour, valid a month: enough for any test run. */
function validity() {
  const now = Date.now();
  return { notBefore: new Date(now - 3_600_000), notAfter: new Date(now + 30 * DAY_MS) };
}

function serial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f; // positive, RFC 5280 §4.1.2.2
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
