/**
 * Private-key checks. node:crypto reads every PEM key form operators have
 * (PKCS#8, PKCS#1 "RSA PRIVATE KEY", SEC1 "EC PRIVATE KEY"), which
 * WebCrypto alone cannot; comparing normalised SPKI bytes then works for
 * RSA, EC and EdDSA alike.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { Buffer } from "node:buffer";

export type KeyCheck = { matches: boolean; problem?: string };

function readPrivateKey(keyPem: string): KeyObject | string {
  if (keyPem.includes("ENCRYPTED")) {
    return "the private key is encrypted; store it without a passphrase (openssl pkey -in KEY -out KEY.plain)";
  }
  if (!/-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/.test(keyPem)) {
    return "no PEM private key found (expected PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)";
  }
  try {
    return createPrivateKey(keyPem);
  } catch (e) {
    return `the private key cannot be read: ${(e as Error).message}`;
  }
}

/** Whether `keyPem` is the private half of the public key in `spkiDer`. */
export function privateKeyMatches(keyPem: string, spkiDer: Uint8Array): KeyCheck {
  const key = readPrivateKey(keyPem);
  if (typeof key === "string") return { matches: false, problem: key };
  const fromKey = createPublicKey(key).export({ type: "spki", format: "der" });
  let fromCert: Buffer;
  try {
    fromCert = createPublicKey({ key: Buffer.from(spkiDer), format: "der", type: "spki" })
      .export({ type: "spki", format: "der" });
  } catch (e) {
    return { matches: false, problem: `the certificate's public key is unsupported: ${e}` };
  }
  return { matches: Buffer.compare(fromKey, fromCert) === 0 };
}
