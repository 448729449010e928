/**
 * Schema version 3 (integer archive owners, plain seq key, retention
 * through the owners): a version 2 database with items of several users
 * and stores, equal times among them, keeps every item, its order and its
 * lookups after the upgrade, and the upgraded archive works as a new one.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { SqliteStorage } from "../../src/storage/sqlite.ts";
import { migrationsFor, SCHEMA_VERSION_TABLE, schemaFor } from "../../src/storage/schema.ts";

async function withFile(fn: (file: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "parley-migrate-" });
  try {
    await fn(join(dir, "db.sqlite"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A version 2 database holding `rows` ([host, user, store, id, when, with]). */
function makeV2(file: string, rows: [string, string, string, string, number, string | null][]) {
  const db = new DatabaseSync(file);
  db.exec(SCHEMA_VERSION_TABLE);
  for (const step of migrationsFor("sqlite", 0).filter((m) => m.version <= 2)) {
    for (const s of step.statements) db.exec(s);
  }
  db.exec("INSERT INTO schema_version (version, applied_at) VALUES (2, 0)");
  const insert = db.prepare(`INSERT INTO archive (host, "user", store, id, "when", with_jid, value)
    VALUES (?, ?, ?, ?, ?, ?, ?)`);
  for (const [host, user, store, id, when, w] of rows) {
    insert.run(host, user, store, id, when, w, JSON.stringify(id));
  }
  db.close();
}

Deno.test("sqlite: a version 2 archive is upgraded to integer owners in place", () =>
  withFile(async (file) => {
    // Equal times: the old insertion (seq) order must survive the copy.
    makeV2(file, [
      ["h", "alice", "mam", "c", 5, "bob@h"],
      ["h", "alice", "mam", "a", 5, "carol@h"],
      ["h", "alice", "mam", "b", 5, "bob@h"],
      ["h", "alice", "offline", "o1", 1, null],
      ["h", "bob", "mam", "b1", 2, "alice@h"],
      ["other", "alice", "mam", "x", 1, null],
      ["h", "alice", "mam", "old", 1, "bob@h"],
    ]);
    const d = new SqliteStorage(file);
    try {
      const mam = d.archive("h", "mam");
      const ids = async (q = {}) => (await mam.find("alice", q)).map((i) => i.id);
      assert.deepEqual(await ids(), ["old", "c", "a", "b"]);
      assert.deepEqual(await ids({ with: "bob@h" }), ["old", "c", "b"]);
      assert.deepEqual(await ids({ after: "c" }), ["a", "b"]);
      assert.deepEqual(await ids({ before: "b", reverse: true }), ["a", "c", "old"]);
      assert.equal(await mam.count("alice", { ids: ["a", "x"] }), 1); // x is another host's
      assert.deepEqual((await mam.find("bob")).map((i) => [i.id, i.with, i.value]), [
        ["b1", "alice@h", "b1"],
      ]);
      assert.deepEqual((await d.archive("h", "offline").find("alice"))[0].value, "o1");
      assert.equal((await d.archive("other", "mam").find("alice"))[0].id, "x");
      // A new item at an old time sorts after the old ones of that time; ids stay unique.
      await mam.append("alice", { id: "new", when: 5, value: 1 });
      await assert.rejects(mam.append("alice", { id: "a", value: 2 }), /already exists/);
      assert.deepEqual(await ids(), ["old", "c", "a", "b", "new"]);
      // Retention is per host and store, through every owner.
      assert.equal(await mam.expire(3), 2); // alice's "old", bob's "b1"
      assert.equal(await d.archive("h", "offline").count("alice"), 1);
      assert.equal(await d.archive("other", "mam").count("alice"), 1);
      // deleteUser removes the user's items on this host only; appending again works.
      await d.deleteUser("h", "alice");
      assert.equal(await mam.count("alice"), 0);
      assert.equal(await d.archive("h", "offline").count("alice"), 0);
      assert.equal(await d.archive("other", "mam").count("alice"), 1);
      await mam.append("alice", { id: "again", value: 3 });
      assert.deepEqual(await ids(), ["again"]);
    } finally {
      await d.close();
    }
    const db = new DatabaseSync(file);
    try {
      const cols = db.prepare("PRAGMA table_info(archive)").all().map((r) => r.name);
      assert.deepEqual(cols, ["seq", "owner", "id", "when", "with_jid", "value"]);
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE name = 'archive_v3'").all();
      assert.equal(tables.length, 0);
    } finally {
      db.close();
    }
  }));

Deno.test("schema: the v3 archive DDL keeps to the PostgreSQL forms", () => {
  const pg = schemaFor("postgres");
  const v3 = migrationsFor("postgres", 2).flatMap((m) => m.statements);
  assert.ok(v3.length > 0 && v3.every((s) => pg.includes(s)));
  // Identity columns, no SQLite-only words.
  assert.ok(v3.some((s) => s.includes("GENERATED ALWAYS AS IDENTITY")));
  assert.ok(v3.every((s) => !/AUTOINCREMENT|WITHOUT ROWID|INTEGER PRIMARY KEY|\{\{/.test(s)));
});
