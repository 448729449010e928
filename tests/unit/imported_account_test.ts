/** Accounts imported with SCRAM-SHA-1 keys only (parley import prosody). */
import assert from "node:assert/strict";
import { importedAccountRecord, InternalAuthProvider } from "../../src/auth/internal_provider.ts";
import { deriveScramCredentials } from "../../src/auth/scram.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { SqliteStorage } from "../../src/storage/sqlite.ts";
import type { StorageDriver } from "../../src/storage/types.ts";

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

Deno.test("SHA-1-only account: a password changed by another process while PLAIN adds keys stays changed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-auth-" });
  const file = `${dir}/db.sqlite`;
  // Two connections to one file: the server's and `parley passwd`'s.
  const server = new SqliteStorage(file);
  const cli = new SqliteStorage(file);
  try {
    const sha1 = await deriveScramCredentials("old secret", "SHA-1", 4096);
    await cli.keyval("example.test", "accounts").set("alice", importedAccountRecord(sha1, 1, 2));
    cli.flush();
    const changed = {
      "SCRAM-SHA-1": { ...await deriveScramCredentials("new secret", "SHA-1", 4096) },
      "SCRAM-SHA-256": { ...await deriveScramCredentials("new secret", "SHA-256", 4096) },
      created: 1,
      updated: 3,
    };
    // Right after the server reads the record to add the SHA-256 keys, the
    // other process changes the password (at the next turn: once whatever
    // the server wrote meanwhile is committed).
    let reads = 0;
    const accounts = server.keyval("example.test", "accounts");
    const watched: StorageDriver = {
      name: "watched",
      keyval: (host, store) =>
        store !== "accounts" ? server.keyval(host, store) : {
          set: (user, value) => accounts.set(user, value),
          get: async (user) => {
            const value = await accounts.get(user);
            if (++reads === 2) {
              setImmediate(() => {
                server.flush();
                void cli.keyval(host, store).set(user, changed);
                cli.flush();
              });
            }
            return value;
          },
        },
      map: (host, store) => server.map(host, store),
      archive: (host, store) => server.archive(host, store),
      deleteUser: (host, user) => server.deleteUser(host, user),
      close: () => server.close(),
    };
    const auth = new InternalAuthProvider(watched, { iterations: 4096 });
    assert.equal(await auth.testPassword("example.test", "alice", "old secret"), true);
    await new Promise((r) => setTimeout(r, 50));
    server.flush();
    const cliAuth = new InternalAuthProvider(cli, { iterations: 4096 });
    assert.equal(await cliAuth.testPassword("example.test", "alice", "new secret"), true);
    assert.equal(await cliAuth.testPassword("example.test", "alice", "old secret"), false);
  } finally {
    await server.close();
    await cli.close();
    await Deno.remove(dir, { recursive: true });
  }
});
