/**
 * Schema version 3 (integer archive owners, plain seq key, timed ids
 * without an id index entry, retention through the owners): a version 2
 * database with items of several users
 * and stores, equal times among them, keeps every item, its order and its
 * lookups after the upgrade, and the upgraded archive works as a new one;
 * timed and other ids are found and kept unique alike.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { SqliteStorage } from "../../src/storage/sqlite.ts";
import {
  migrationsFor,
  newArchiveId,
  SCHEMA_VERSION_TABLE,
  schemaFor,
} from "../../src/storage/schema.ts";

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
      // Version 4 replaced the v3 table with chunks (schema.ts V4).
      const cols = db.prepare("PRAGMA table_info(archive_chunk)").all().map((r) => r.name);
      assert.deepEqual(cols, ["seq", "owner", "with_jid", "first_when", "last_when", "n", "items"]);
      const tables = db.prepare(
        "SELECT name FROM sqlite_master WHERE name IN ('archive_v3', 'archive')",
      ).all();
      assert.equal(tables.length, 0);
    } finally {
      db.close();
    }
  }));

Deno.test("sqlite: timed ids and other ids are found and unique alike", () =>
  withFile(async (file) => {
    const d = new SqliteStorage(file);
    try {
      const a = d.archive("h", "mam");
      const t1 = newArchiveId(1000);
      const t2 = newArchiveId(2000);
      const early = newArchiveId(2500); // timed shape, stored at another time: untimed
      await a.append("u", { id: t1, when: 1000, value: 1 });
      await a.append("u", { id: "plain", when: 1500, value: 2 });
      await a.append("u", { id: t2, when: 2000, value: 3 });
      await a.append("u", { id: early, when: 2200, value: 4 });
      const generated = await a.append("u", { when: 3000, value: 5 });
      assert.equal(generated.slice(0, 12), (3000).toString(16).padStart(12, "0"));
      const ids = async (q = {}) => (await a.find("u", q)).map((i) => i.id);
      const all = [t1, "plain", t2, early, generated];
      assert.deepEqual(await ids(), all);
      for (let i = 0; i < all.length; i++) {
        assert.deepEqual(await ids({ after: all[i] }), all.slice(i + 1));
        assert.deepEqual(await ids({ before: all[i] }), all.slice(0, i));
        assert.deepEqual(await ids({ ids: [all[i]] }), [all[i]]);
      }
      assert.deepEqual(
        await ids({ ids: [generated, "plain", early, t1, "nope", newArchiveId()] }),
        [
          t1,
          "plain",
          early,
          generated,
        ],
      );
      assert.equal(await a.count("u", { ids: all }), 5);
      // Unique whichever way an id is stored, and whichever way the copy would be.
      for (const [id, when] of [[t1, 1000], [t1, 9], [early, 2500], [early, 2200], ["plain", 7]]) {
        await assert.rejects(a.append("u", { id: id as string, when: when as number, value: 0 }), {
          message: /already exists/,
        });
      }
      // Another user may hold the same id.
      await a.append("v", { id: t1, when: 1000, value: 6 });
      assert.equal(await a.delete("u", { ids: [t1, early] }), 2);
      assert.deepEqual(await ids(), ["plain", t2, generated]);
      await a.append("u", { id: t1, when: 1000, value: 7 }); // free again
    } finally {
      await d.close();
    }
    const db = new DatabaseSync(file);
    try {
      // Only untimed ids have archive_ids entries: "plain" (`early` is deleted).
      const untimed = db.prepare("SELECT id FROM archive_ids").all().map((r) => r.id);
      assert.deepEqual(untimed, ["plain"]);
      const items = Number(db.prepare("SELECT total(n) AS n FROM archive_chunk").get()!.n);
      assert.equal(items - untimed.length, 4); // u's t2, generated and t1 (again), v's t1
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
