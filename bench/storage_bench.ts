/**
 * SQLite driver throughput on a real file (WAL, synchronous=NORMAL): the
 * batched archive writes that the hot path relies on, and point reads.
 * Run with `deno bench --allow-all bench/storage_bench.ts`.
 */
import { join } from "node:path";
import { SqliteStorage } from "../src/storage/sqlite.ts";

const dir = Deno.makeTempDirSync({ prefix: "parley-bench-" });
const driver = new SqliteStorage(join(dir, "bench.sqlite"));
globalThis.addEventListener("unload", () => {
  driver.close();
  Deno.removeSync(dir, { recursive: true });
});

const archive = driver.archive("example.com", "mam");
const value = {
  stanza: "<message to='bob@example.com'><body>" + "x".repeat(150) + "</body></message>",
};
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

const BATCH = 1000;
Deno.bench(`sqlite archive.append ×${BATCH} in one turn, committed after it`, {
  group: "append",
  baseline: true,
}, async () => {
  const pending: Promise<string>[] = [];
  for (let i = 0; i < BATCH; i++) {
    pending.push(archive.append("alice", { with: "bob@example.com", value }));
  }
  await Promise.all(pending);
  await nextTurn(); // the driver's scheduled COMMIT runs here
});

Deno.bench(`sqlite archive.append ×${BATCH}, one turn (and commit) each`, {
  group: "append",
  n: 20,
}, async () => {
  for (let i = 0; i < BATCH; i++) {
    await archive.append("carol", { with: "bob@example.com", value });
    await nextTurn();
  }
});

const keyval = driver.keyval("example.com", "roster");
for (let i = 0; i < 10_000; i++) await keyval.set(`user${i}`, { items: [{ jid: `c${i}@x` }] });
driver.flush();
let n = 0;
Deno.bench("sqlite keyval.get (10 k rows, ~40 B value)", { group: "read" }, async () => {
  await keyval.get(`user${n++ % 10_000}`);
});
