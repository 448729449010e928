/**
 * Schema version 4 (the archive in chunks): a version 3 database with
 * timed and untimed ids (timed-shaped ones among them, stored at their
 * time or not, flagged or not), equal times inserted out of order,
 * several owners and stores, and values JSON must carry faithfully, is
 * upgraded with every item in the same order, found by id and as an
 * after/before mark, and every id still unique.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { SqliteStorage } from "../../src/storage/sqlite.ts";
import type { Json } from "../../src/storage/types.ts";
import { migrationsFor, newArchiveId, SCHEMA_VERSION_TABLE } from "../../src/storage/schema.ts";

interface V3Row {
  owner: [string, string, string];
  id: string;
  timed: 0 | 1;
  when: number;
  with: string | null;
  value: Json;
}

/** A version 3 database holding `rows`, inserted in the given (seq) order. */
function makeV3(file: string, rows: V3Row[]): void {
  const db = new DatabaseSync(file);
  db.exec(SCHEMA_VERSION_TABLE);
  for (const step of migrationsFor("sqlite", 0).filter((m) => m.version <= 3)) {
    for (const s of step.statements) db.exec(s);
  }
  db.exec("INSERT INTO schema_version (version, applied_at) VALUES (3, 0)");
  const owners = new Map<string, number>();
  for (const r of rows) {
    const key = JSON.stringify(r.owner);
    if (owners.has(key)) continue;
    const { lastInsertRowid } = db.prepare(
      `INSERT INTO archive_owner (host, "user", store) VALUES (?, ?, ?)`,
    ).run(...r.owner);
    owners.set(key, Number(lastInsertRowid));
  }
  const insert = db.prepare(
    `INSERT INTO archive (owner, id, timed, "when", with_jid, value) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  for (const r of rows) {
    insert.run(
      owners.get(JSON.stringify(r.owner))!,
      r.id,
      r.timed,
      r.when,
      r.with,
      JSON.stringify(r.value),
    );
  }
  db.close();
}

Deno.test("sqlite: a version 3 archive is upgraded to chunks with order, ids and uniqueness kept", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-v4-" });
  const file = join(dir, "db.sqlite");
  const mam: [string, string, string] = ["h", "alice", "mam"];
  const t = (when: number) => newArchiveId(when);
  // [id, timed, when, with, value] of alice's mam archive, in insertion order.
  const alice: [string, 0 | 1, number, string | null, Json][] = [
    [t(50), 1, 50, "bob@h", "late insert, early time"],
    ["legacy", 0, 10, null, { nested: ["é", 1.5, null, true] }],
    [t(20), 1, 20, "bob@h", 'quote " and \\ backslash'],
    [t(20), 0, 20, "carol@h", "timed shape, flagged untimed (from version 2)"],
    [t(5), 0, 20, "bob@h", "timed shape, another time"],
    ["plain-2", 0, 20, null, "\u2028 line separator"],
    [t(20), 1, 20, "bob@h", 3],
  ];
  const rows: V3Row[] = alice.map(([id, timed, when, w, value]) => ({
    owner: mam,
    id,
    timed,
    when,
    with: w,
    value,
  }));
  // Other owners, some with the same ids and times.
  rows.splice(2, 0, {
    owner: ["h", "bob", "mam"],
    id: alice[0][0],
    timed: 1,
    when: 50,
    with: null,
    value: 0,
  });
  rows.push({
    owner: ["h", "alice", "offline"],
    id: "legacy",
    timed: 0,
    when: 10,
    with: null,
    value: 1,
  });
  rows.push({
    owner: ["other", "alice", "mam"],
    id: alice[2][0],
    timed: 1,
    when: 20,
    with: null,
    value: 2,
  });
  try {
    makeV3(file, rows);
    const d = new SqliteStorage(file);
    try {
      const a = d.archive("h", "mam");
      // Archive order: time, then the old insertion order.
      const order = [1, 2, 3, 4, 5, 6, 0];
      const want = order.map((i) => {
        const [id, , when, w, value] = alice[i];
        return w === null ? { id, when, value } : { id, when, with: w, value };
      });
      assert.deepEqual(await a.find("alice"), want);
      assert.deepEqual(await a.find("alice", { reverse: true }), [...want].reverse());
      const ids = want.map((i) => i.id);
      for (const [k, id] of ids.entries()) {
        assert.deepEqual(await a.find("alice", { ids: [id] }), [want[k]], id);
        assert.deepEqual((await a.find("alice", { after: id })).map((i) => i.id), ids.slice(k + 1));
        assert.deepEqual((await a.find("alice", { before: id })).map((i) => i.id), ids.slice(0, k));
        assert.equal(await a.count("alice", { after: id }), ids.length - k - 1);
        await assert.rejects(a.append("alice", { id, value: 0 }), /already exists/);
        await assert.rejects(
          a.append("alice", { id, when: want[k].when, value: 0 }),
          /already exists/,
        );
      }
      assert.deepEqual(await a.find("alice", { start: 20, end: 20, with: "bob@h" }), [
        want[1],
        want[3],
        want[5],
      ]);
      assert.equal(await a.count("alice", { start: 20, end: 20 }), 5);
      assert.deepEqual((await a.find("bob")).map((i) => i.value), [0]);
      assert.deepEqual((await d.archive("h", "offline").find("alice")).map((i) => i.id), [
        "legacy",
      ]);
      assert.deepEqual((await d.archive("other", "mam").find("alice")).map((i) => i.value), [2]);
      // A new item at an old time comes after the old ones of that time.
      await a.append("alice", { id: "new", when: 20, value: "new" });
      assert.deepEqual(
        (await a.find("alice", { start: 20, end: 20 })).map((i) => i.id).at(-1),
        "new",
      );
      assert.equal(await a.delete("alice", { ids: [ids[2], ids[4]] }), 2);
      assert.equal(await a.count("alice"), ids.length - 1);
    } finally {
      await d.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
