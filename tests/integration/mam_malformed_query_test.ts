/**
 * Malformed archive queries (XEP-0313 §4.1, XEP-0059) are `bad-request`,
 * never read some other way: a date that does not exist is not the next
 * valid one, and an RSM value given twice is not one of the two.
 */
import assert from "node:assert/strict";
import { errorCondition, type TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { login, mamQuery, seed } from "../helpers/mam.ts";

async function withSeededAlice(fn: (alice: TestClient) => Promise<void>) {
  const server: TestServer = await startTestServer({ mam: { retentionDays: 0 } });
  const alice = await login(server, "alice", "a");
  try {
    await seed(server, "alice", 3, { base: Date.parse("2026-02-01T00:00:00Z") });
    await fn(alice);
  } finally {
    alice.close();
    await server.stop();
  }
}

async function fails(alice: TestClient, o: Parameters<typeof mamQuery>[1]) {
  const r = await mamQuery(alice, o);
  assert.equal(r.iq.attrs.type, "error", JSON.stringify(o) + " " + r.iq.toString());
  assert.equal(errorCondition(r.iq), "bad-request", JSON.stringify(o));
  assert.equal(r.results.length, 0);
}

Deno.test("mam: a date that does not exist is bad-request, not the next valid one", () =>
  withSeededAlice(async (alice) => {
    // 30 February, 31 April, 29 February of a common year, hour 24.
    for (
      const date of [
        "2026-02-30T00:00:00Z",
        "2026-04-31T12:00:00Z",
        "2025-02-29T00:00:00Z",
        "2026-02-01T24:00:00Z",
      ]
    ) {
      await fails(alice, { fields: { start: date } });
      await fails(alice, { fields: { end: date } });
    }
    // Still fine: a leap day of a leap year, an offset, a fraction.
    for (const start of ["2024-02-29T00:00:00Z", "2026-02-01T01:00:00+01:00"]) {
      const ok = await mamQuery(alice, { fields: { start } });
      assert.equal(ok.iq.attrs.type, "result", start);
      assert.equal(ok.results.length, 3);
    }
    const frac = await mamQuery(alice, { fields: { start: "2026-02-01T00:00:00.001999Z" } });
    assert.equal(frac.results.length, 2);
  }));

Deno.test("mam: an RSM element given twice is bad-request, not one of the two", () =>
  withSeededAlice(async (alice) => {
    for (
      const rsm of [
        "<max>1</max><max>2</max>",
        "<index>0</index><index>1</index>",
        "<after>m0</after><after>m1</after>",
        "<before>m2</before><before/>",
      ]
    ) {
      await fails(alice, { rsm });
    }
    // One of each is fine.
    const ok = await mamQuery(alice, { rsm: "<max>1</max><after>m0</after>" });
    assert.deepEqual(ok.ids, ["m1"]);
  }));
