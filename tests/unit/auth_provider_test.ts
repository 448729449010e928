import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { InsecureAuthProvider } from "../../src/auth/insecure_provider.ts";
import { InternalAuthProvider } from "../../src/auth/internal_provider.ts";
import { createAuthProvider } from "../../src/auth/provider.ts";
import { configSchema } from "../../src/config/schema.ts";
import type { KeyValStore, StorageDriver } from "../../src/storage/types.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";

const HOST = "example.com";
const PASSWORD = "correct horse battery staple";

/** A MemoryStorage that also records every value written through keyval stores. */
function spyStorage(): { storage: StorageDriver; written: string[] } {
  const inner = new MemoryStorage();
  const written: string[] = [];
  const storage: StorageDriver = {
    name: "spy",
    keyval(host: string, store: string): KeyValStore {
      const kv = inner.keyval(host, store);
      return {
        get: (user) => kv.get(user),
        set: (user, value) => {
          written.push(`${host}/${store}/${user}: ${JSON.stringify(value)}`);
          return kv.set(user, value);
        },
      };
    },
    map: (host, store) => inner.map(host, store),
    archive: (host, store) => inner.archive(host, store),
    deleteUser: (host, user) => inner.deleteUser(host, user),
    close: () => inner.close(),
  };
  return { storage, written };
}

Deno.test("internal provider: create, test, change and delete an account", async () => {
  const { storage } = spyStorage();
  const p = new InternalAuthProvider(storage);
  assert.equal(await p.userExists(HOST, "alice"), false);
  assert.equal(await p.testPassword(HOST, "alice", PASSWORD), false);
  assert.equal(await p.createUser(HOST, "alice", PASSWORD), true);
  assert.equal(await p.createUser(HOST, "alice", "other"), false, "already exists");
  assert.equal(await p.userExists(HOST, "alice"), true);
  assert.equal(await p.userExists("other.example", "alice"), false, "accounts are per host");
  assert.equal(await p.testPassword(HOST, "alice", PASSWORD), true);
  assert.equal(await p.testPassword(HOST, "alice", "wrong"), false);

  assert.equal(await p.setPassword(HOST, "alice", "new secret"), true);
  assert.equal(await p.testPassword(HOST, "alice", PASSWORD), false);
  assert.equal(await p.testPassword(HOST, "alice", "new secret"), true);
  assert.equal(await p.setPassword(HOST, "bob", "x"), false, "no such user");

  assert.equal(await p.deleteUser(HOST, "alice"), true);
  assert.equal(await p.deleteUser(HOST, "alice"), false);
  assert.equal(await p.userExists(HOST, "alice"), false);
  assert.equal(await p.testPassword(HOST, "alice", "new secret"), false);
});

Deno.test("internal provider stores SCRAM keys for both hashes, never the password", async () => {
  const { storage, written } = spyStorage();
  const now = () => 1_700_000_000_000;
  const p = new InternalAuthProvider(storage, { iterations: 5000, now });
  await p.createUser(HOST, "alice", PASSWORD);
  await p.setPassword(HOST, "alice", "second password");
  const record = await storage.keyval(HOST, "accounts").get("alice") as Record<string, unknown>;
  assert.deepEqual(Object.keys(record).sort(), [
    "SCRAM-SHA-1",
    "SCRAM-SHA-256",
    "created",
    "updated",
  ]);
  assert.equal(record.created, now());
  assert.equal(record.updated, now());
  for (const hash of ["SHA-1", "SHA-256"] as const) {
    const c = await p.getScramCredentials(HOST, "alice", hash);
    assert.ok(c);
    assert.equal(c.iterations, 5000);
    assert.equal(Uint8Array.fromBase64(c.storedKey).length, hash === "SHA-1" ? 20 : 32);
  }
  assert.equal(await p.getScramCredentials(HOST, "nobody", "SHA-256"), undefined);
  assert.ok(written.length >= 2);
  for (const line of written) {
    assert.ok(!line.includes(PASSWORD) && !line.includes("second password"), line);
    for (const password of [PASSWORD, "second password"]) {
      assert.ok(!line.includes(btoa(password)), "nor its base64");
    }
  }
});

Deno.test("internal provider validates usernames and passwords", async () => {
  const p = new InternalAuthProvider(new MemoryStorage());
  await assert.rejects(p.createUser(HOST, "Alice", PASSWORD), /username/);
  await assert.rejects(p.createUser(HOST, "a@b", PASSWORD), /username/);
  await assert.rejects(p.createUser(HOST, "", PASSWORD), /username/);
  await assert.rejects(p.createUser(HOST, "alice", ""), /password/);
  await assert.rejects(p.createUser(HOST, "alice", "bell\u0007"), /password/);
  assert.equal(await p.userExists(HOST, "Alice"), false);
});

Deno.test("concurrent creations of one account: exactly one wins", async () => {
  const p = new InternalAuthProvider(new MemoryStorage());
  const results = await Promise.all([1, 2, 3].map((i) => p.createUser(HOST, "race", `pw${i}`)));
  assert.deepEqual(results.filter((r) => r).length, 1);
  const winner = results.indexOf(true) + 1;
  assert.equal(await p.testPassword(HOST, "race", `pw${winner}`), true);
});

Deno.test("insecure provider: PLAIN only, any password, account created on first login", async () => {
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { capture: (r) => records.push(r) },
    loggers: [
      { category: ["parley"], lowestLevel: "debug", sinks: ["capture"] },
      { category: ["logtape", "meta"], lowestLevel: "fatal", sinks: [] },
    ],
  });
  try {
    const { storage, written } = spyStorage();
    const p = new InsecureAuthProvider(storage);
    assert.ok(
      records.some((r) => r.level === "warning" && /any password/i.test(String(r.message))),
    );
    assert.deepEqual(p.mechanisms, ["PLAIN"]);
    assert.equal(await p.userExists(HOST, "tester"), false);
    assert.equal(await p.testPassword(HOST, "tester", "first"), true);
    assert.equal(await p.userExists(HOST, "tester"), true);
    assert.equal(await p.testPassword(HOST, "tester", "anything else"), true);
    assert.ok(written.every((line) => !line.includes("first")));
    assert.ok(await p.getScramCredentials(HOST, "tester", "SHA-256"));
    assert.equal(await p.testPassword(HOST, "Not Valid", "x"), false);
  } finally {
    await reset();
  }
});

Deno.test("createAuthProvider picks the configured provider", async () => {
  await configure({
    reset: true,
    sinks: {},
    loggers: [{ category: ["logtape", "meta"], lowestLevel: "fatal", sinks: [] }],
  });
  try {
    const config = configSchema.parse({});
    assert.equal(createAuthProvider(config, new MemoryStorage()).name, "internal");
    const insecure = configSchema.parse({ auth: { provider: "insecure" } });
    assert.equal(createAuthProvider(insecure, new MemoryStorage()).name, "insecure");
    const slow = configSchema.parse({ auth: { scramIterations: 10000 } });
    const p = createAuthProvider(slow, new MemoryStorage());
    await p.createUser(HOST, "alice", PASSWORD);
    assert.equal((await p.getScramCredentials(HOST, "alice", "SHA-1"))?.iterations, 10000);
  } finally {
    await reset();
  }
});
