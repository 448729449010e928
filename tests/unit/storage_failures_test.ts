/**
 * The SQLite driver when SQLite fails: a trigger raising ROLLBACK stands
 * for SQLITE_FULL or an I/O error, which end the whole transaction rather
 * than the one statement (a constraint error's way).
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { SqliteStorage } from "../../src/storage/sqlite.ts";
import { migrationsFor, SCHEMA_VERSION_TABLE } from "../../src/storage/schema.ts";

async function withFile(fn: (file: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "parley-sqlite-fail-" });
  try {
    await fn(join(dir, "db.sqlite"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function raw(file: string, sql: string): void {
  const db = new DatabaseSync(file);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

Deno.test("sqlite: an upgrade that fails part way names its cause and leaves the old database", () =>
  withFile(async (file) => {
    // A version 2 database with one archived item.
    const db = new DatabaseSync(file);
    db.exec(SCHEMA_VERSION_TABLE);
    for (const m of migrationsFor("sqlite", 0).filter((m) => m.version <= 2)) {
      for (const s of m.statements) db.exec(s);
    }
    db.exec("INSERT INTO schema_version (version, applied_at) VALUES (2, 0)");
    db.exec(`INSERT INTO archive (host, "user", store, id, "when", with_jid, value)
      VALUES ('h', 'u', 'mam', 'old', 1, NULL, '"kept"')`);
    // Version 3 fills archive_owner (made IF NOT EXISTS): failing there ends
    // the transaction as a full disk would.
    db.exec(`CREATE TABLE archive_owner (id INTEGER PRIMARY KEY, host TEXT NOT NULL,
      "user" TEXT NOT NULL, store TEXT NOT NULL, UNIQUE (host, "user", store))`);
    db.exec(`CREATE TRIGGER full BEFORE INSERT ON archive_owner
      BEGIN SELECT RAISE(ROLLBACK, 'simulated disk full'); END`);
    db.close();

    assert.throws(() => new SqliteStorage(file), /simulated disk full/);
    const check = new DatabaseSync(file);
    try {
      assert.equal(check.prepare("SELECT max(version) AS v FROM schema_version").get()!.v, 2);
      assert.equal(check.prepare("SELECT count(*) AS n FROM archive").get()!.n, 1);
    } finally {
      check.close();
    }

    // The cause gone, the next start upgrades it.
    raw(file, "DROP TRIGGER full");
    const d = new SqliteStorage(file);
    try {
      assert.deepEqual(await d.archive("h", "mam").find("u"), [{
        id: "old",
        when: 1,
        value: "kept",
      }]);
    } finally {
      await d.close();
    }
  }));

Deno.test("sqlite: a batch SQLite rolls back fails its write, and the driver goes on", () =>
  withFile(async (file) => {
    await new SqliteStorage(file).close();
    raw(
      file,
      `CREATE TRIGGER full BEFORE INSERT ON keyval WHEN NEW.store = 'full'
       BEGIN SELECT RAISE(ROLLBACK, 'simulated disk full'); END`,
    );
    let d = new SqliteStorage(file);
    try {
      const kv = d.keyval("h", "s");
      const archive = d.archive("h", "mam");
      await kv.set("before", 1);
      await archive.append("before", { value: "x", with: "w" });
      await assert.rejects(d.keyval("h", "full").set("u", 1), /simulated disk full/);
      // What the rolled-back batch held is gone from reads as from the file
      // (the header's documented loss): no item is seen that is not stored.
      assert.equal(await kv.get("before"), undefined);
      assert.equal(await archive.count("before"), 0);
      // The same turn and the next ones write and commit as usual.
      await kv.set("after", 2);
      await archive.append("after", { value: "y", with: "w" });
      await new Promise((r) => setTimeout(r, 50));
      await kv.set("later", 3);
      await d.close();
      d = new SqliteStorage(file);
      assert.equal(await d.keyval("h", "s").get("after"), 2);
      assert.equal(await d.keyval("h", "s").get("later"), 3);
      assert.equal(await d.archive("h", "mam").count("after"), 1);
      assert.equal(await d.archive("h", "mam").count("before"), 0);
    } finally {
      await d.close();
    }
  }));

Deno.test("sqlite: deleteUser failing part way leaves the user's data and the batch's other writes", () =>
  withFile(async (file) => {
    await new SqliteStorage(file).close();
    // A constraint-like failure (ABORT: the statement only) in the middle
    // of deleteUser's statements.
    raw(
      file,
      `CREATE TRIGGER keep BEFORE DELETE ON map WHEN OLD."user" = 'u'
       BEGIN SELECT RAISE(ABORT, 'refused'); END`,
    );
    let d = new SqliteStorage(file);
    try {
      await d.keyval("h", "s").set("u", 1);
      await d.map("h", "m").set("u", "k", 1);
      await d.keyval("h", "s").set("other", 2);
      await assert.rejects(d.deleteUser("h", "u"), /refused/);
      await d.keyval("h", "s").set("next", 3);
      await d.close();
      d = new SqliteStorage(file);
      assert.equal(await d.keyval("h", "s").get("u"), 1);
      assert.equal(await d.map("h", "m").get("u", "k"), 1);
      assert.equal(await d.keyval("h", "s").get("other"), 2);
      assert.equal(await d.keyval("h", "s").get("next"), 3);
    } finally {
      await d.close();
    }
  }));
