import assert from "node:assert/strict";
import { join } from "node:path";
import { configSchema } from "../../src/config/schema.ts";
import { resolvePaths } from "../../src/config/load.ts";
import { loadOrCreateCertificates } from "../../src/tls/certs.ts";
import { inspectCertificate } from "../../src/tls/inspect.ts";
import { generateSelfSigned } from "../../src/tls/selfsigned.ts";
import { nameCovers } from "../../src/tls/names.ts";
import { X509CertificateGenerator } from "../../src/tls/x509.ts";
import { generateKeyPairSync } from "node:crypto";

function configIn(dir: string, raw: Record<string, unknown>) {
  return resolvePaths(configSchema.parse({ dataDir: "data", ...raw }), dir);
}

Deno.test("self-signed certificate is generated, covers every host and its subdomains", async () => {
  const dir = await Deno.makeTempDir();
  const config = await configIn(dir, { hosts: ["example.org", { domain: "chat.example.net" }] });
  const store = await loadOrCreateCertificates(config);
  assert.equal(store.all.length, 1);
  assert.deepEqual(store.default.domains.sort(), [
    "*.chat.example.net",
    "*.example.org",
    "chat.example.net",
    "example.org",
  ]);
  assert.equal(store.forHost("example.org"), store.default);
  assert.equal(store.forHost("conference.example.org"), store.default);
  assert.equal(store.forHost("example.com"), undefined);
  const days = (store.default.notAfter.getTime() - Date.now()) / 86_400_000;
  assert.ok(days > 364 && days <= 365, `valid for a year, got ${days}`);
  const keyFile = join(dir, "data", "certs", "selfsigned.key");
  assert.equal((await Deno.stat(keyFile)).mode! & 0o777, 0o600);
  assert.match(await Deno.readTextFile(keyFile), /^-----BEGIN PRIVATE KEY-----/);
  const report = await inspectCertificate(
    store.default.certPem,
    store.default.keyPem,
    "example.org",
  );
  assert.ok(report.keyMatches && report.selfSigned && report.coversDomain && !report.expired);
});

Deno.test("the generated certificate is reused, and regenerated when a host is added", async () => {
  const dir = await Deno.makeTempDir();
  const first = await loadOrCreateCertificates(await configIn(dir, { hosts: ["a.example"] }));
  const second = await loadOrCreateCertificates(await configIn(dir, { hosts: ["a.example"] }));
  assert.equal(second.default.certPem, first.default.certPem);
  const third = await loadOrCreateCertificates(
    await configIn(dir, { hosts: ["a.example", "b.example"] }),
  );
  assert.notEqual(third.default.certPem, first.default.certPem);
  assert.ok(third.default.domains.includes("b.example"));
});

Deno.test("configured pairs win over the generated one; hosts sharing a pair share it", async () => {
  const dir = await Deno.makeTempDir();
  const own = await generateSelfSigned(["own.example"]);
  const global = await generateSelfSigned(["g1.example", "g2.example"]);
  for (const [name, pair] of [["own", own], ["global", global]] as const) {
    await Deno.writeTextFile(join(dir, `${name}.crt`), pair.certPem);
    await Deno.writeTextFile(join(dir, `${name}.key`), pair.keyPem);
  }
  const config = await configIn(dir, {
    tls: { certificate: "global.crt", key: "global.key" },
    hosts: ["g1.example", "g2.example", {
      domain: "own.example",
      tls: { certificate: "own.crt", key: "own.key" },
    }],
  });
  const store = await loadOrCreateCertificates(config);
  assert.equal(store.all.length, 2);
  assert.equal(store.default.certPem, global.certPem);
  assert.equal(store.forHost("OWN.example")!.certPem, own.certPem);
  assert.equal(store.forHost("g2.example"), store.default);
  // Nothing was generated: every host has a pair.
  await assert.rejects(Deno.stat(join(dir, "data", "certs", "selfsigned.crt")));
});

Deno.test("inspect: key match is detected with EC and RSA keys", async () => {
  const a = await generateSelfSigned(["a.example"]);
  const b = await generateSelfSigned(["a.example"]);
  assert.equal((await inspectCertificate(a.certPem, a.keyPem, "a.example")).keyMatches, true);
  const wrong = await inspectCertificate(a.certPem, b.keyPem, "a.example");
  assert.equal(wrong.keyMatches, false);
  assert.equal(wrong.keyProblem, undefined);

  const rsa = await rsaPair("rsa.example");
  assert.equal((await inspectCertificate(rsa.certPem, rsa.pkcs8, "rsa.example")).keyMatches, true);
  // PKCS#1 "RSA PRIVATE KEY" is read too (node:crypto converts it).
  assert.equal((await inspectCertificate(rsa.certPem, rsa.pkcs1, "rsa.example")).keyMatches, true);
  assert.equal((await inspectCertificate(rsa.certPem, a.keyPem, "rsa.example")).keyMatches, false);
  const garbage = await inspectCertificate(a.certPem, "not a key", "a.example");
  assert.equal(garbage.keyMatches, false);
  assert.match(garbage.keyProblem!, /no PEM private key/);
});

Deno.test("inspect: wildcards cover exactly one label", async () => {
  const pair = await generateSelfSigned(["example.com"]);
  const at = (d: string) => inspectCertificate(pair.certPem, pair.keyPem, d);
  assert.equal((await at("example.com")).coversDomain, true);
  assert.equal((await at("chat.example.com")).coversDomain, true);
  assert.equal((await at("a.b.example.com")).coversDomain, false);
  assert.equal((await at("example.org")).coversDomain, false);
  assert.equal(nameCovers("*.example.com", "example.com"), false);
});

Deno.test("inspect: expiry is reported", async () => {
  const old = await generateSelfSigned(["old.example"], new Date("2020-01-01T00:00:00Z"));
  const report = await inspectCertificate(old.certPem, old.keyPem, "old.example");
  assert.equal(report.expired, true);
  assert.ok(report.expiresInDays < 0);
  assert.equal(report.notAfter.toISOString(), "2020-12-31T00:00:00.000Z");
  const fresh = await inspectCertificate(
    old.certPem,
    old.keyPem,
    "old.example",
    new Date("2020-06-01"),
  );
  assert.equal(fresh.expired, false);
  assert.equal(fresh.expiresInDays, 213);
});

/** An RSA certificate, to check key matching beyond the EC keys we generate. */
async function rsaPair(domain: string) {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pkcs8 = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  const pkcs1 = privateKey.export({ type: "pkcs1", format: "pem" }) as string;
  const der = privateKey.export({ type: "pkcs8", format: "der" });
  const alg = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  const priv = await crypto.subtle.importKey("pkcs8", new Uint8Array(der), alg, true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", priv);
  const pub = await crypto.subtle.importKey(
    "jwk",
    { kty: "RSA", n: jwk.n, e: jwk.e, alg: "RS256", ext: true },
    alg,
    true,
    ["verify"],
  );
  const cert = await X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: `CN=${domain}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    signingAlgorithm: alg,
    keys: { privateKey: priv, publicKey: pub },
  });
  return { certPem: cert.toString("pem"), pkcs8, pkcs1 };
}
