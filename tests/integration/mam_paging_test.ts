/**
 * MAM paging (XEP-0313 §4.3 with XEP-0059) over 5 000 archived messages,
 * forwards and backwards, with exact first/last/count/complete and the
 * index of each page, on both storage drivers. The archive is seeded
 * through the server's store.
 */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { mamQuery, seed } from "../helpers/mam.ts";

const TOTAL = 5000;
const PAGE = 250;

for (const driver of ["memory", "sqlite"]) {
  Deno.test(`mam: paging forwards and backwards over 5000 messages (${driver})`, () =>
    paging(driver));
}

async function paging(driver: string) {
  const server = await startTestServer({ storage: { driver } });
  await seed(server, "alice", TOTAL);
  const alice = await TestClient.login({
    port: server.ports.c2s,
    user: "alice",
    password: "wonderland",
    resource: "a",
  });
  try {
    // Forwards: after the last of each page, until complete.
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < TOTAL / PAGE + 1; page++) {
      const rsm = `<max>${PAGE}</max>` + (after ? `<after>${after}</after>` : "");
      const r = await mamQuery(alice, { rsm });
      assert.equal(r.count, TOTAL);
      assert.equal(r.results.length, PAGE);
      assert.equal(r.first, `m${page * PAGE}`);
      assert.equal(r.firstIndex, String(page * PAGE));
      assert.equal(r.last, `m${page * PAGE + PAGE - 1}`);
      assert.equal(r.complete, page === TOTAL / PAGE - 1);
      seen.push(...r.ids);
      after = r.last;
      if (r.complete) break;
    }
    assert.deepEqual(seen, Array.from({ length: TOTAL }, (_, i) => `m${i}`));
    // After the very last one: empty and complete.
    const end = await mamQuery(alice, { rsm: `<max>${PAGE}</max><after>m${TOTAL - 1}</after>` });
    assert.equal(end.results.length, 0);
    assert.equal(end.count, TOTAL);
    assert.equal(end.complete, true);

    // Backwards: the last page (empty before), then before the first of each page.
    const back: string[][] = [];
    let before = "";
    for (let page = 0; page < TOTAL / PAGE + 1; page++) {
      const r = await mamQuery(alice, { rsm: `<max>${PAGE}</max><before>${before}</before>` });
      const top = TOTAL - page * PAGE;
      assert.equal(r.count, TOTAL);
      assert.equal(r.results.length, PAGE);
      assert.equal(r.first, `m${top - PAGE}`);
      assert.equal(r.firstIndex, String(top - PAGE));
      assert.equal(r.last, `m${top - 1}`);
      // Chronological within the page.
      assert.deepEqual(r.ids, Array.from({ length: PAGE }, (_, i) => `m${top - PAGE + i}`));
      assert.equal(r.complete, top - PAGE === 0);
      back.unshift(r.ids);
      before = r.first!;
      if (r.complete) break;
    }
    assert.deepEqual(back.flat(), seen);

    // A page that is not full: the last 100.
    const tail = await mamQuery(alice, { rsm: `<max>${PAGE}</max><after>m${TOTAL - 101}</after>` });
    assert.equal(tail.results.length, 100);
    assert.equal(tail.firstIndex, String(TOTAL - 100));
    assert.equal(tail.complete, true);
    // By index.
    const byIndex = await mamQuery(alice, { rsm: `<max>10</max><index>1234</index>` });
    assert.equal(byIndex.first, "m1234");
    assert.equal(byIndex.firstIndex, "1234");
    assert.equal(byIndex.last, "m1243");
    assert.equal(byIndex.complete, false);
    // No max: the configured default page size.
    const dflt = await mamQuery(alice);
    assert.equal(dflt.results.length, server.config.mam.defaultPageSize);
    assert.equal(dflt.complete, false);
  } finally {
    alice.close();
    await server.stop();
  }
}
