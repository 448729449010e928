/**
 * MUC and PEP fan-out load generator (bench/results/2026-12-06-muc-pep-fanout.md). One JSON
 * line on stdout per run. Examples:
 *   deno run -A bench/fanout/run.ts --port 15322 --scenario prepare
 *   deno run -A bench/fanout/run.ts --port 15322 --scenario muc --server-pid 1234 --label parley
 *   deno run -A bench/fanout/run.ts --port 15322 --scenario pep --server-pid 1234 --label parley
 * `prepare` registers muc1..mucN, pephub and pep1..pepM in-band and makes
 * pephub's subscriptions mutual; it is idempotent.
 */
import { parseArgs } from "node:util";
import { pool, register, type Target } from "./client.ts";
import { runMuc } from "./muc.ts";
import { runPep, setupPepRoster } from "./pep.ts";

const { values: a } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "15322" },
    domain: { type: "string", default: "localhost" },
    scenario: { type: "string", default: "muc" },
    label: { type: "string", default: "" },
    "server-pid": { type: "string" },
    occupants: { type: "string", default: "500" },
    messages: { type: "string", default: "50" },
    contacts: { type: "string", default: "200" },
    items: { type: "string", default: "50" },
    gap: { type: "string", default: "50" },
    window: { type: "string", default: "4" },
    seconds: { type: "string", default: "5" },
    concurrency: { type: "string", default: "20" },
  },
});
const target: Target = { host: a.host!, port: Number(a.port), domain: a.domain! };
const common = {
  gapMs: Number(a.gap),
  window: Number(a.window),
  seconds: Number(a.seconds),
  concurrency: Number(a.concurrency),
  serverPid: a["server-pid"] ? Number(a["server-pid"]) : undefined,
};
const started = new Date().toISOString();
let out: Record<string, unknown>;
if (a.scenario === "prepare") {
  const names = [
    ...Array.from({ length: Number(a.occupants) }, (_, i) => `muc${i + 1}`),
    "pephub",
    ...Array.from({ length: Number(a.contacts) }, (_, i) => `pep${i + 1}`),
  ];
  let created = 0;
  await pool(names, common.concurrency, async (n) => {
    if (await register(target, n)) created++;
  });
  const mutual = await setupPepRoster(target, Number(a.contacts), common.concurrency);
  out = { scenario: "prepare", created, existed: names.length - created, mutual };
} else if (a.scenario === "muc") {
  out = await runMuc(target, {
    ...common,
    occupants: Number(a.occupants),
    messages: Number(a.messages),
  });
} else if (a.scenario === "pep") {
  out = await runPep(target, { ...common, contacts: Number(a.contacts), items: Number(a.items) });
} else {
  console.error("--scenario prepare|muc|pep");
  Deno.exit(2);
}
console.log(JSON.stringify({ label: a.label, started, port: target.port, ...out }));
// Sockets closing may hold the loop open a moment; the result is out.
Deno.exit(0);
