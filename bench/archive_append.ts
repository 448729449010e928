/**
 * The cost of archive appends as the server makes them: K appends per
 * event-loop turn (two per chat message), turn after turn, on a SQLite
 * file that already holds an archive, every commit and checkpoint
 * included. Prints µs per append (wall time of the run over the appends),
 * the process's CPU time per append (all threads, the checkpointer's
 * included: steadier than wall time on a shared machine) and the longest
 * turn (what a stanza waits behind).
 *
 *   deno run -A bench/archive_append.ts [--src ../src] [--per-turn 20,100,1000]
 *     [--prefill 100000] [--users 100] [--appends 20000]
 *
 * `--src` points at another checkout's src/ to compare drivers (the
 * "before" figures of bench/results/2026-12-06-archive-writes.md came from
 * `git archive 202beab src | tar -x -C /tmp/base`).
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { join, resolve } from "node:path";
import type { StorageDriver } from "../src/storage/types.ts";

const { values: opts } = parseArgs({
  options: {
    src: { type: "string", default: new URL("../src", import.meta.url).pathname },
    "per-turn": { type: "string", default: "20,100,1000" },
    prefill: { type: "string", default: "100000" },
    users: { type: "string", default: "100" },
    appends: { type: "string", default: "20000" },
    /** Passed to SqliteStorage as commitIntervalMs (drivers that have it). */
    interval: { type: "string" },
  },
});
const src = resolve(opts.src!);
const { SqliteStorage } = await import(join(src, "storage/sqlite.ts"));
const { prepareArchiveItem } = await import(join(src, "storage/schema.ts"));
const USERS = Number(opts.users);
const PREFILL = Number(opts.prefill);
const APPENDS = Number(opts.appends);

const nextTurn = () => new Promise<void>((r) => setImmediate(r));
const stanza = (i: number) =>
  `<message xmlns='jabber:client' type='chat' to='user${(i * 7) % USERS}@localhost' ` +
  `from='user${i % USERS}@localhost/res' id='m${i}'><body>${"x".repeat(64)}</body></message>`;

/** Appends `n` rows, `perTurn` per turn; returns the wall time and the longest turn. */
async function run(driver: StorageDriver, n: number, perTurn: number, base: number) {
  const archive = driver.archive("localhost", "mam");
  let longest = 0;
  let last = performance.now();
  const t0 = last;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n;) {
    const pending: Promise<string>[] = [];
    for (const end = Math.min(n, i + perTurn); i < end; i++) {
      const k = base + i;
      pending.push(archive.append(`user${k % USERS}`, {
        with: `user${(k * 7) % USERS}@localhost`,
        value: stanza(k),
      }));
    }
    await Promise.all(pending);
    await nextTurn();
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }
  await (driver as unknown as { close(): Promise<void> }).close(); // the last commit counts
  const cpu = process.cpuUsage(cpu0);
  return { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, longest };
}

{
  const t = performance.now();
  for (let i = 0; i < APPENDS; i++) {
    prepareArchiveItem({ with: "user1@localhost", value: stanza(i) });
  }
  console.log(
    `prepare (validate, id, encode) alone: ${
      ((performance.now() - t) * 1000 / APPENDS).toFixed(2)
    } µs/append`,
  );
}
console.log(`driver: ${src}; prefill ${PREFILL} rows over ${USERS} users`);
console.log("| appends per turn | µs per append | CPU µs per append | longest turn ms |");
console.log("| ---: | ---: | ---: | ---: |");
for (const perTurn of opts["per-turn"]!.split(",").map(Number)) {
  const dir = await Deno.makeTempDir({ prefix: "parley-append-" });
  try {
    const file = join(dir, "bench.sqlite");
    await run(new SqliteStorage(file), PREFILL, 5000, 0);
    const driverOpts = opts.interval === undefined
      ? {}
      : { commitIntervalMs: Number(opts.interval) };
    const { ms, cpuMs, longest } = await run(
      new SqliteStorage(file, driverOpts),
      APPENDS,
      perTurn,
      PREFILL,
    );
    const us = (t: number) => (t * 1000 / APPENDS).toFixed(1);
    console.log(`| ${perTurn} | ${us(ms)} | ${us(cpuMs)} | ${longest.toFixed(1)} |`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
