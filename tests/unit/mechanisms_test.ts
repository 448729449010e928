import assert from "node:assert/strict";
import { InsecureAuthProvider } from "../../src/auth/insecure_provider.ts";
import { InternalAuthProvider } from "../../src/auth/internal_provider.ts";
import {
  offeredMechanisms,
  startExchange,
  unavailableMechanismCondition,
} from "../../src/auth/mechanisms.ts";
import { PlainExchange } from "../../src/auth/plain.ts";
import { ScramExchange } from "../../src/auth/scram.ts";
import type { SaslContext } from "../../src/auth/types.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";

const provider = new InternalAuthProvider(new MemoryStorage());
const tls: SaslContext = {
  host: "example.com",
  provider,
  secure: true,
  tlsServerEndPoint: new Uint8Array(32),
};
const plainText: SaslContext = { host: "example.com", provider, secure: false };
const strict = { allowPlainWithoutTls: false };

Deno.test("offers -PLUS first with channel binding data, and PLAIN only over TLS", () => {
  assert.deepEqual(offeredMechanisms(tls, strict), [
    "SCRAM-SHA-256-PLUS",
    "SCRAM-SHA-1-PLUS",
    "SCRAM-SHA-256",
    "SCRAM-SHA-1",
    "PLAIN",
  ]);
  const noBinding = { ...tls, tlsServerEndPoint: undefined };
  assert.deepEqual(offeredMechanisms(noBinding, strict), ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]);
  assert.deepEqual(offeredMechanisms(plainText, strict), ["SCRAM-SHA-256", "SCRAM-SHA-1"]);
  assert.deepEqual(offeredMechanisms(plainText, { allowPlainWithoutTls: true }), [
    "SCRAM-SHA-256",
    "SCRAM-SHA-1",
    "PLAIN",
  ]);
});

Deno.test("offers only what the provider supports", async () => {
  const { configureLogging, resetLogging } = await import("../../src/log.ts");
  await configureLogging({ level: "fatal", format: "text" });
  try {
    const insecure = new InsecureAuthProvider(new MemoryStorage());
    assert.deepEqual(offeredMechanisms({ ...tls, provider: insecure }, strict), ["PLAIN"]);
  } finally {
    await resetLogging();
  }
});

Deno.test("startExchange starts offered mechanisms only, and says why not", () => {
  assert.ok(startExchange("SCRAM-SHA-256-PLUS", tls, strict) instanceof ScramExchange);
  assert.ok(startExchange("SCRAM-SHA-1", tls, strict) instanceof ScramExchange);
  assert.ok(startExchange("PLAIN", tls, strict) instanceof PlainExchange);
  assert.equal(startExchange("DIGEST-MD5", tls, strict), undefined);
  assert.equal(unavailableMechanismCondition("DIGEST-MD5", tls, strict), "invalid-mechanism");
  assert.equal(startExchange("SCRAM-SHA-1-PLUS", plainText, strict), undefined);
  assert.equal(
    unavailableMechanismCondition("SCRAM-SHA-1-PLUS", plainText, strict),
    "invalid-mechanism",
  );
  assert.equal(startExchange("PLAIN", plainText, strict), undefined);
  assert.equal(unavailableMechanismCondition("PLAIN", plainText, strict), "encryption-required");
  assert.ok(startExchange("PLAIN", plainText, { allowPlainWithoutTls: true }));
});
