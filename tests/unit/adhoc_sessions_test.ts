import assert from "node:assert/strict";
import { CommandSessions } from "../../src/modules/adhoc/sessions.ts";

Deno.test("adhoc sessions: found only by their owner and node, and expire", () => {
  let now = 0;
  const sessions = new CommandSessions({ ttlMs: 1000, perOwner: 5, total: 100 }, () => now);
  const id = sessions.newId("urn:x#add-user");
  assert.match(id, /^add-user:/);
  sessions.open(id, "urn:x#add-user", "a@h/r");
  assert.equal(sessions.find(id, "urn:x#add-user", "a@h/r").kind, "ok");
  assert.equal(sessions.find(id, "urn:x#add-user", "a@h/other").kind, "unknown");
  assert.equal(sessions.find(id, "urn:x#delete-user", "a@h/r").kind, "unknown");
  now = 900;
  assert.equal(sessions.find(id, "urn:x#add-user", "a@h/r").kind, "ok", "use extends the life");
  now = 1800;
  assert.equal(sessions.find(id, "urn:x#add-user", "a@h/r").kind, "ok");
  now = 2900;
  assert.equal(sessions.find(id, "urn:x#add-user", "a@h/r").kind, "expired");
  assert.equal(sessions.find(id, "urn:x#add-user", "a@h/r").kind, "unknown");
});

Deno.test("adhoc sessions: a few per owner and a bounded total, oldest dropped first", () => {
  const sessions = new CommandSessions({ ttlMs: 60_000, perOwner: 2, total: 3 });
  const ids = [1, 2, 3].map((i) => sessions.open(`s${i}`, "n", "a@h/r").id);
  assert.equal(sessions.find(ids[0], "n", "a@h/r").kind, "unknown", "owner keeps two");
  assert.equal(sessions.find(ids[2], "n", "a@h/r").kind, "ok");
  sessions.open("b1", "n", "b@h/r");
  sessions.open("c1", "n", "c@h/r");
  assert.equal(sessions.size, 3);
  assert.equal(sessions.find(ids[1], "n", "a@h/r").kind, "unknown", "the oldest went first");
  assert.equal(sessions.find("c1", "n", "c@h/r").kind, "ok");
});
