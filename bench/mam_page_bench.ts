/**
 * One MAM page against a large SQLite archive (issue 10's benchmark):
 * the three statements a XEP-0313 query with XEP-0059 paging costs —
 * the page (51 rows, filtered by `with`, newest first), the RSM count,
 * and the RSM index of the page's first item — and every other query
 * shape the MAM module issues.
 *
 *   deno run -A bench/mam_page_bench.ts --table [--rows 1000000] [--reps 100]
 *     [--db /tmp/parley-mam-1000000.sqlite]
 *
 * prints p50/p95/max per query shape; under `deno bench` (as `deno task bench` runs every bench file)
 * each shape is a Deno.bench, at PARLEY_MAM_ROWS rows (default 100 000).
 *
 * The database is built on first use (through the driver, batched as the
 * server writes) and reused by later runs with the same --db. Shape, for
 * N rows spread over one year in time order:
 * - the queried user ("alice") holds 20 % of all rows, with 50 contacts:
 *   one "main" contact has 25 % of her archive, the other 49 share the rest;
 * - the other 80 % belong to 2000 other users, 50 contacts each.
 * At 1 000 000 rows alice has 200 000 (50 000 with her main contact, ~3 060
 * with each other one).
 */
import { parseArgs } from "node:util";
import { DatabaseSync } from "node:sqlite";
import { SqliteStorage } from "../src/storage/sqlite.ts";
import type { ArchiveQuery, ArchiveStore } from "../src/storage/types.ts";

const { values: opts } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    reps: { type: "string", default: "100" },
    db: { type: "string" },
    table: { type: "boolean", default: false },
  },
});
/** Script mode (a table); otherwise Deno.bench entries. */
const TABLE = opts.table;
const ROWS = TABLE ? Number(opts.rows) : Number(Deno.env.get("PARLEY_MAM_ROWS") ?? 100_000);
const REPS = Number(opts.reps);
const FILE = opts.db ?? `/tmp/parley-mam-${ROWS}.sqlite`;
const HOST = "example.com";
const STORE = "mam";
const USER = "alice";
const OTHER_USERS = 2000;
const CONTACTS = 50;
const YEAR_MS = 365 * 24 * 3600 * 1000;
const START = Date.UTC(2026, 0, 1);
const contact = (i: number) => `contact${i}@example.net`;
const MAIN = contact(0);
const TYPICAL = contact(7);

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

/** A deterministic generator, so two builds of the same size hold the same archive. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function stanza(to: string, i: number): string {
  return `<message xmlns='jabber:client' type='chat' to='${to}' id='m${i}'>` +
    `<body>${"message text ".repeat(8)}${i}</body>` +
    `<origin-id xmlns='urn:xmpp:sid:0' id='o${i}'/></message>`;
}

async function build(): Promise<void> {
  const driver = new SqliteStorage(FILE);
  const archive = driver.archive(HOST, STORE);
  const rand = rng(ROWS);
  const step = Math.floor(YEAR_MS / ROWS);
  const t0 = performance.now();
  const TURN = 5000;
  for (let i = 0; i < ROWS;) {
    const pending: Promise<string>[] = [];
    for (const end = Math.min(ROWS, i + TURN); i < end; i++) {
      let user = USER;
      let w: string;
      if (rand() < 0.2) {
        w = rand() < 0.25 ? MAIN : contact(1 + Math.floor(rand() * (CONTACTS - 1)));
      } else {
        user = `user${Math.floor(rand() * OTHER_USERS)}`;
        w = contact(Math.floor(rand() * CONTACTS));
      }
      pending.push(
        archive.append(user, { when: START + i * step, with: w, value: { stanza: stanza(w, i) } }),
      );
    }
    await Promise.all(pending);
    await nextTurn();
  }
  const s = (performance.now() - t0) / 1000;
  console.log(`built ${ROWS} rows in ${s.toFixed(1)} s (${Math.round(ROWS / s)} appends/s)`);
  await driver.close();
}

function fileRows(): number {
  try {
    const db = new DatabaseSync(FILE, { readOnly: true });
    try {
      return Number(db.prepare("SELECT total(n) AS n FROM archive_chunk").get()!.n);
    } finally {
      db.close();
    }
  } catch {
    return -1;
  }
}

function stats(ms: number[]): { p50: number; p95: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  return {
    p50: s[Math.floor(s.length / 2)],
    p95: s[Math.min(s.length - 1, Math.floor(s.length * 0.95))],
    max: s[s.length - 1],
  };
}

const have = fileRows();
if (have !== ROWS) {
  if (have >= 0) {
    for (const f of [FILE, `${FILE}-wal`, `${FILE}-shm`]) await Deno.remove(f).catch(() => {});
  }
  await build();
}

const driver = new SqliteStorage(FILE);
const archive: ArchiveStore = driver.archive(HOST, STORE);

/** An id in the middle of alice's conversation with `w` (for paging from it). */
async function middleId(w: string): Promise<string> {
  const all = await archive.find(USER, { with: w });
  return all[all.length >> 1].id;
}

interface Shape {
  name: string;
  kind: "find" | "count";
  q: ArchiveQuery;
}

const mainMid = await middleId(MAIN);
const typicalMid = await middleId(TYPICAL);
const latest = await archive.find(USER, { with: MAIN, reverse: true, limit: 51 });
const latestFirst = latest[49].id; // the page's oldest item: its RSM index is counted
const someIds = (await archive.find(USER, { with: TYPICAL, limit: 40 })).filter((_, i) =>
  i % 8 === 0
)
  .map((x) => x.id);
const lastMonth = START + YEAR_MS - 30 * 24 * 3600 * 1000;
const midYear = START + YEAR_MS / 2;
const day = 24 * 3600 * 1000;

const shapes: Shape[] = [
  // The page: latest 50 with the main contact, newest first, + count + index.
  {
    name: "page: with=main, reverse, limit 51",
    kind: "find",
    q: { with: MAIN, reverse: true, limit: 51 },
  },
  { name: "count: with=main", kind: "count", q: { with: MAIN } },
  {
    name: "index: with=main, before=page's first",
    kind: "count",
    q: { with: MAIN, before: latestFirst },
  },
  // The same index from the other end: count − (items after the page's first) − 1.
  {
    name: "index from the end: with=main, after=page's first",
    kind: "count",
    q: { with: MAIN, after: latestFirst },
  },
  {
    name: "page: with=typical, reverse, limit 51",
    kind: "find",
    q: { with: TYPICAL, reverse: true, limit: 51 },
  },
  { name: "count: with=typical", kind: "count", q: { with: TYPICAL } },
  {
    name: "page: with=main, before-id=middle, reverse",
    kind: "find",
    q: { with: MAIN, before: mainMid, reverse: true, limit: 51 },
  },
  {
    name: "page: with=main, after-id=middle",
    kind: "find",
    q: { with: MAIN, after: mainMid, limit: 51 },
  },
  {
    name: "page: with=typical, after-id=middle",
    kind: "find",
    q: { with: TYPICAL, after: typicalMid, limit: 51 },
  },
  {
    name: "page: with=main, start=mid-year",
    kind: "find",
    q: { with: MAIN, start: midYear, limit: 51 },
  },
  {
    name: "page: with=main, end=mid-year, reverse",
    kind: "find",
    q: { with: MAIN, end: midYear, reverse: true, limit: 51 },
  },
  {
    name: "page: with=main, start+end (1 day)",
    kind: "find",
    q: { with: MAIN, start: midYear, end: midYear + day, limit: 51 },
  },
  {
    name: "page: with=typical, start+end (whole year), reverse",
    kind: "find",
    q: { with: TYPICAL, start: START, end: START + YEAR_MS, reverse: true, limit: 51 },
  },
  { name: "page: start=last month (no with)", kind: "find", q: { start: lastMonth, limit: 51 } },
  { name: "page: no filter, reverse", kind: "find", q: { reverse: true, limit: 51 } },
  { name: "page: no filter, after-id=middle", kind: "find", q: { after: mainMid, limit: 51 } },
  { name: "page: ids (5)", kind: "find", q: { ids: someIds } },
  { name: "count: no filter (whole user archive)", kind: "count", q: {} },
  { name: "count: start=last month", kind: "count", q: { start: lastMonth } },
  { name: "index: no filter, before=middle", kind: "count", q: { before: mainMid } },
];

async function time(s: Shape): Promise<number[]> {
  const run = () => s.kind === "find" ? archive.find(USER, s.q) : archive.count(USER, s.q);
  for (let i = 0; i < 3; i++) await run(); // warm the page cache
  const out: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t = performance.now();
    await run();
    out.push(performance.now() - t);
  }
  return out;
}

if (!TABLE) {
  for (const s of shapes) {
    Deno.bench(s.name, { group: s.kind }, async () => {
      await (s.kind === "find" ? archive.find(USER, s.q) : archive.count(USER, s.q));
    });
  }
  globalThis.addEventListener("unload", () => driver.close());
} else {
  const aliceRows = await archive.count(USER);
  const mainRows = await archive.count(USER, { with: MAIN });
  const typicalRows = await archive.count(USER, { with: TYPICAL });
  console.log(
    `# ${ROWS} archived rows; ${USER}: ${aliceRows} (main contact ${mainRows}, typical contact ${typicalRows}); ${REPS} reps`,
  );
  console.log("| query | rows | p50 ms | p95 ms | max ms |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  const p50: Record<string, number> = {};
  for (const s of shapes) {
    const ms = await time(s);
    const r = s.kind === "find"
      ? (await archive.find(USER, s.q)).length
      : await archive.count(USER, s.q);
    const { p50: a, p95: b, max: c } = stats(ms);
    p50[s.name] = a;
    console.log(`| ${s.name} | ${r} | ${a.toFixed(3)} | ${b.toFixed(3)} | ${c.toFixed(3)} |`);
  }
  const total = p50[shapes[0].name] + p50[shapes[1].name] + p50[shapes[2].name];
  console.log(
    `\nMAM page with RSM count and index (main contact), sum of p50s: ${total.toFixed(3)} ms`,
  );
  await driver.close();
}
