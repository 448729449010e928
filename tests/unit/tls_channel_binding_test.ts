import "reflect-metadata";
import assert from "node:assert/strict";
import { X509Certificate, X509CertificateGenerator } from "@peculiar/x509";
import { pemToDer, tlsServerEndPoint } from "../../src/auth/tls_channel_binding.ts";

type Alg = RsaHashedKeyGenParams | EcKeyGenParams | Algorithm;

async function selfSigned(keyAlg: Alg, signingAlgorithm: Algorithm): Promise<X509Certificate> {
  const keys = await crypto.subtle.generateKey(keyAlg, true, ["sign", "verify"]) as CryptoKeyPair;
  return await X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=example.com",
    notBefore: new Date(),
    notAfter: new Date(Date.now() + 86_400_000),
    signingAlgorithm,
    keys,
  });
}

async function sha(hash: string, data: ArrayBuffer): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(hash, data));
}

const rsa = (hash: string) => ({
  name: "RSASSA-PKCS1-v1_5",
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash,
});

Deno.test("tls-server-end-point hashes with the signature's hash (RFC 5929 §4.1)", async () => {
  const ec384 = await selfSigned(
    { name: "ECDSA", namedCurve: "P-384" } as EcKeyGenParams,
    { name: "ECDSA", hash: "SHA-384" } as Algorithm,
  );
  const der384 = new Uint8Array(ec384.rawData);
  assert.deepEqual(await tlsServerEndPoint(der384), await sha("SHA-384", ec384.rawData));

  const rsa256 = await selfSigned(
    rsa("SHA-256"),
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as Algorithm,
  );
  assert.deepEqual(
    await tlsServerEndPoint(new Uint8Array(rsa256.rawData)),
    await sha("SHA-256", rsa256.rawData),
  );
});

Deno.test("SHA-1 and MD5 signatures are upgraded to SHA-256", async () => {
  const rsa1 = await selfSigned(
    rsa("SHA-1"),
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-1" } as Algorithm,
  );
  assert.deepEqual(
    await tlsServerEndPoint(new Uint8Array(rsa1.rawData)),
    await sha("SHA-256", rsa1.rawData),
  );
  // Web Crypto cannot sign with MD5: relabel the SHA-1 certificate's
  // sha1WithRSAEncryption OIDs as md5WithRSAEncryption (only the label matters here).
  const der = new Uint8Array(rsa1.rawData);
  const oid = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05];
  for (let i = 0; i + oid.length <= der.length; i++) {
    if (oid.every((b, j) => der[i + j] === b)) der[i + oid.length - 1] = 0x04;
  }
  assert.equal(new X509Certificate(der).signatureAlgorithm.name, "1.2.840.113549.1.1.4");
  assert.deepEqual(await tlsServerEndPoint(der), await sha("SHA-256", der.buffer));
});

Deno.test("signatures without a single hash (Ed25519) have no binding", async () => {
  const ed = await selfSigned({ name: "Ed25519" }, { name: "Ed25519" });
  await assert.rejects(tlsServerEndPoint(new Uint8Array(ed.rawData)), /undefined/);
});

Deno.test("pemToDer returns the first certificate of a chain", async () => {
  const leaf = await selfSigned(
    rsa("SHA-256"),
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as Algorithm,
  );
  const ca = await selfSigned(
    rsa("SHA-256"),
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as Algorithm,
  );
  const chain = `${leaf.toString("pem")}\n${ca.toString("pem")}\n`;
  assert.deepEqual(pemToDer(chain), new Uint8Array(leaf.rawData));
  assert.throws(() => pemToDer("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
});
