/**
 * A private certificate authority for tests, built with the same X.509
 * library as the server (no openssl CLI needed): a root, optionally an
 * intermediate, and leaf certificates for server domains that Parley's own
 * chain check and Prosody (OpenSSL) both accept.
 */
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  type X509Certificate,
  X509CertificateGenerator,
} from "../../src/tls/x509.ts";
import {
  type GeneratedPair as PemPair,
  newKeyPair,
  privateKeyPem,
  randomSerial,
  serverExtensions,
  SIGNING,
} from "../../src/tls/selfsigned.ts";

const DAY_MS = 86_400_000;

/** A PEM certificate and its PKCS#8 private key, as `generateSelfSigned` returns. */
export type { PemPair };

/** Dates for a certificate; by default backdated an hour and valid a month. */
export interface Validity {
  notBefore?: Date;
  notAfter?: Date;
}

/** A subjectAltName entry: DNS-ID, XmppAddr, SRV-ID (`_xmpp-server.example.net`) or URI. */
export type SanEntry = { type: "dns" | "xmppAddr" | "srv" | "uri"; value: string };

export interface IssueOptions extends Validity {
  /** The SAN instead of one dNSName per domain; `[]` leaves the extension out. */
  san?: SanEntry[];
  /** The subject CN (default: the first domain). */
  cn?: string;
}

export interface TestCa extends PemPair {
  /** The CA's distinguished name and public key (for cross-signing). */
  subject: string;
  publicKey: CryptoKey;
  /** A server certificate for `domains` (SAN dNSNames), signed by this CA. */
  issue(domains: string[], options?: IssueOptions): Promise<PemPair>;
  /** A CA signed by this one; its `certPem` is the intermediate alone. */
  intermediate(name: string, options?: Validity): Promise<TestCa>;
  /** A CA certificate for `other`'s name and key signed by this CA (a cross-sign), PEM. */
  crossSign(other: TestCa, options?: Validity): Promise<string>;
}

/** A root CA named `CN=<name>`. */
export async function createTestCa(
  name = "Parley Test CA",
  options: Validity = {},
): Promise<TestCa> {
  const keys = await newKeyPair();
  const cert = await X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${name}`,
    ...validity(options),
    signingAlgorithm: SIGNING,
    keys,
    extensions: await caExtensions(keys.publicKey, keys.publicKey),
  });
  return { ...authority(cert, keys), keyPem: await privateKeyPem(keys) };
}

function authority(cert: X509Certificate, keys: CryptoKeyPair): TestCa {
  const signed = async (
    subject: string,
    publicKey: CryptoKey,
    extensions: Extension[],
    dates: Validity = {},
  ) =>
    await X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject,
      issuer: cert.subject,
      ...validity(dates),
      signingAlgorithm: SIGNING,
      publicKey,
      signingKey: keys.privateKey,
      extensions,
    });
  return {
    certPem: cert.toString("pem") + "\n",
    keyPem: "",
    subject: cert.subject,
    publicKey: keys.publicKey,
    async issue(domains, options = {}) {
      const leafKeys = await newKeyPair();
      const san = options.san === undefined
        ? [
          new SubjectAlternativeNameExtension(
            domains.map((value) => ({ type: "dns" as const, value })),
          ),
        ]
        : options.san.length > 0
        ? [sanExtension(options.san)]
        : [];
      const leaf = await signed(`CN=${options.cn ?? domains[0]}`, leafKeys.publicKey, [
        ...serverExtensions(),
        ...san,
        await SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
        await AuthorityKeyIdentifierExtension.create(keys.publicKey),
      ], options);
      return { certPem: leaf.toString("pem") + "\n", keyPem: await privateKeyPem(leafKeys) };
    },
    async intermediate(name, options) {
      const subKeys = await newKeyPair();
      const sub = await signed(
        `CN=${name}`,
        subKeys.publicKey,
        await caExtensions(subKeys.publicKey, keys.publicKey),
        options,
      );
      return { ...authority(sub, subKeys), keyPem: await privateKeyPem(subKeys) };
    },
    async crossSign(other, options) {
      const cross = await signed(
        other.subject,
        other.publicKey,
        await caExtensions(other.publicKey, keys.publicKey),
        options,
      );
      return cross.toString("pem") + "\n";
    },
  };
}

/**
 * A subjectAltName built by hand in DER, since @peculiar/x509 writes no
 * XMPP otherNames: id-on-xmppAddr (RFC 6120 §13.7.1.4, UTF8String) and
 * id-on-dnsSRV (RFC 4985, IA5String) are [0] { OID, [0] EXPLICIT value }.
 */
function sanExtension(entries: SanEntry[]): Extension {
  const ascii = (s: string) => new TextEncoder().encode(s);
  const otherName = (oid: number[], tag: number, value: string) =>
    tlv(0xa0, [tlv(0x06, [oidBody(oid)]), tlv(0xa0, [tlv(tag, [ascii(value)])])]);
  const names = entries.map((e) => {
    switch (e.type) {
      case "dns":
        return tlv(0x82, [ascii(e.value)]);
      case "uri":
        return tlv(0x86, [ascii(e.value)]);
      case "xmppAddr":
        return otherName([1, 3, 6, 1, 5, 5, 7, 8, 5], 0x0c, e.value);
      case "srv":
        return otherName([1, 3, 6, 1, 5, 5, 7, 8, 7], 0x16, e.value);
    }
  });
  return new Extension("2.5.29.17", false, tlv(0x30, names));
}

function tlv(tag: number, parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    body.set(p, at);
    at += p.length;
  }
  const len = body.length < 0x80
    ? [body.length]
    : body.length < 0x100
    ? [0x81, body.length]
    : [0x82, body.length >> 8, body.length & 0xff];
  const out = new Uint8Array(1 + len.length + body.length);
  out.set([tag, ...len]);
  out.set(body, 1 + len.length);
  return out;
}

function oidBody(arcs: number[]): Uint8Array {
  const bytes = [arcs[0] * 40 + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const groups = [arc & 0x7f];
    for (let v = arc >> 7; v > 0; v >>= 7) groups.unshift((v & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return new Uint8Array(bytes);
}

async function caExtensions(own: CryptoKey, issuer: CryptoKey): Promise<Extension[]> {
  return [
    new BasicConstraintsExtension(true, undefined, true),
    new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
    await SubjectKeyIdentifierExtension.create(own),
    await AuthorityKeyIdentifierExtension.create(issuer),
  ];
}

/** Backdated an hour, valid a month: enough for any test run (unless `dates` say otherwise). */
function validity(dates: Validity = {}) {
  const now = Date.now();
  return {
    notBefore: dates.notBefore ?? new Date(now - 3_600_000),
    notAfter: dates.notAfter ?? new Date(now + 30 * DAY_MS),
  };
}
