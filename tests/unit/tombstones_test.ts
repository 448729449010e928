/**
 * Tombstones of deleted accounts (src/core/tombstones.ts) and the account
 * creation and removal that honour them (src/core/accounts.ts), on the
 * memory and SQLite drivers, with an injected clock.
 */
import assert from "node:assert/strict";
import type { StorageDriver } from "../../src/storage/types.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { SqliteStorage } from "../../src/storage/sqlite.ts";
import { InternalAuthProvider } from "../../src/auth/internal_provider.ts";
import { Tombstones } from "../../src/core/tombstones.ts";
import { type AccountStores, createAccount, removeAccountData } from "../../src/core/accounts.ts";

const DAY = 86_400_000;
const HOST = "example.org";

const drivers: { name: string; open: () => StorageDriver }[] = [
  { name: "memory", open: () => new MemoryStorage() },
  { name: "sqlite", open: () => new SqliteStorage(":memory:") },
];

/** A settable clock. */
function clock(start = 1_700_000_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

for (const { name, open } of drivers) {
  Deno.test(`tombstones (${name}): kept through deleteUser, expire after the configured days`, async () => {
    const storage = open();
    try {
      const time = clock();
      const t = new Tombstones(storage, 30, time.now);
      assert.equal(await t.reservedUntil(HOST, "romeo"), undefined);
      await t.bury(HOST, "romeo");
      // Removing every stored item of the user is what deletion does next.
      await storage.deleteUser(HOST, "romeo");
      assert.equal(await t.reservedUntil(HOST, "romeo"), time.t + 30 * DAY);
      assert.equal(await t.reservedUntil("other.org", "romeo"), undefined, "per host");
      time.t += 30 * DAY - 1;
      assert.ok(await t.reservedUntil(HOST, "romeo"));
      time.t += 1;
      assert.equal(await t.reservedUntil(HOST, "romeo"), undefined);
      // An expired one is removed when looked at, not only ignored.
      assert.equal((await storage.map(HOST, "tombstones").getAll("")).size, 0);

      // A shorter setting frees names buried under a longer one.
      await t.bury(HOST, "juliet");
      time.t += 2 * DAY;
      assert.ok(await t.reservedUntil(HOST, "juliet"));
      assert.equal(
        await new Tombstones(storage, 1, time.now).reservedUntil(HOST, "juliet"),
        undefined,
      );

      // 0 keeps none; lift removes one.
      await new Tombstones(storage, 0, time.now).bury(HOST, "tybalt");
      assert.equal(await t.reservedUntil(HOST, "tybalt"), undefined);
      await t.bury(HOST, "mercutio");
      await t.lift(HOST, "mercutio");
      assert.equal(await t.reservedUntil(HOST, "mercutio"), undefined);
    } finally {
      await storage.close();
    }
  });

  Deno.test(`accounts (${name}): removal leaves a tombstone; creation refused until expiry or forced`, async () => {
    const storage = open();
    try {
      const time = clock();
      const auth = new InternalAuthProvider(storage);
      const stores: AccountStores = {
        auth,
        storage,
        tombstones: new Tombstones(storage, 365, time.now),
      };
      assert.deepEqual(await createAccount(stores, HOST, "romeo", "pw"), { created: true });
      assert.deepEqual(await createAccount(stores, HOST, "romeo", "pw"), {
        created: false,
        reason: "exists",
      });
      await storage.keyval(HOST, "roster").set("romeo", { items: [] });
      await removeAccountData(stores, HOST, "romeo");
      assert.equal(await auth.userExists(HOST, "romeo"), false);
      assert.equal(await storage.keyval(HOST, "roster").get("romeo"), undefined);
      assert.deepEqual(await createAccount(stores, HOST, "romeo", "pw"), {
        created: false,
        reason: "reserved",
        until: time.t + 365 * DAY,
      });
      assert.equal(await auth.userExists(HOST, "romeo"), false);
      time.t += 365 * DAY;
      assert.deepEqual(await createAccount(stores, HOST, "romeo", "pw"), { created: true });

      // Forced: created at once, and the tombstone goes with it.
      await removeAccountData(stores, HOST, "romeo");
      assert.deepEqual(await createAccount(stores, HOST, "romeo", "pw", true), { created: true });
      assert.equal(await stores.tombstones.reservedUntil(HOST, "romeo"), undefined);
    } finally {
      await storage.close();
    }
  });
}
