/** Accounts imported with SCRAM-SHA-1 keys only (parley import prosody). */
import assert from "node:assert/strict";
import { importedAccountRecord, InternalAuthProvider } from "../../src/auth/internal_provider.ts";
import { deriveScramCredentials } from "../../src/auth/scram.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";

Deno.test("SHA-1-only account: SCRAM-SHA-1 and PLAIN work; PLAIN adds the SHA-256 keys", async () => {
  const storage = new MemoryStorage();
  const sha1 = await deriveScramCredentials("old secret", "SHA-1", 10000);
  await storage.keyval("example.test", "accounts").set("alice", importedAccountRecord(sha1, 1, 2));
  const auth = new InternalAuthProvider(storage);
  assert.equal(await auth.userExists("example.test", "alice"), true);
  assert.deepEqual(await auth.getScramCredentials("example.test", "alice", "SHA-1"), sha1);
  assert.equal(await auth.getScramCredentials("example.test", "alice", "SHA-256"), undefined);
  assert.equal(await auth.testPassword("example.test", "alice", "wrong"), false);
  assert.equal(await auth.getScramCredentials("example.test", "alice", "SHA-256"), undefined);
  assert.equal(await auth.testPassword("example.test", "alice", "old secret"), true);
  const sha256 = await auth.getScramCredentials("example.test", "alice", "SHA-256");
  assert.ok(sha256);
  // The SHA-1 keys stay as imported; PLAIN now checks against SHA-256.
  assert.deepEqual(await auth.getScramCredentials("example.test", "alice", "SHA-1"), sha1);
  assert.equal(await auth.testPassword("example.test", "alice", "old secret"), true);
  assert.equal(await auth.testPassword("example.test", "alice", "wrong"), false);
  await storage.close();
});
