/** Markdown table of medians (min–max) per label from run_all.sh's raw.jsonl. */
import { medianRange, printMedianTable } from "../shared/median_table.ts";

const [path] = Deno.args;
type Row = Record<string, unknown> & { label: string; scenario: string };
const rows: Row[] = Deno.readTextFileSync(path).trim().split("\n").map((l) => JSON.parse(l));
// Server and generator CPU per delivery in the closed loop: comparable however busy the machine was.
for (const r of rows) {
  const c = r.closed as Record<string, number> | undefined;
  if (c?.deliveriesPerSec) {
    c.serverUsPerDelivery = Math.round((c.serverCpu / c.deliveriesPerSec) * 1e7) / 10;
    c.genUsPerDelivery = Math.round((c.genCpu / c.deliveriesPerSec) * 1e7) / 10;
  }
}
const labels = [...new Set(rows.map((r) => r.label))];

function get(r: Row, key: string): number {
  let v: unknown = r;
  for (const k of key.split(".")) v = (v as Record<string, unknown>)?.[k];
  return typeof v === "number" ? v : NaN;
}

function cell(scenario: string, label: string, key: string): string {
  return medianRange(
    rows.filter((r) => r.scenario === scenario && r.label === label && !r.aborted)
      .map((r) => get(r, key)),
  );
}

const METRICS: [string, string][] = [
  ["spaced.p50", "spaced: fan-out p50 ms"],
  ["spaced.p99", "spaced: fan-out p99 ms"],
  ["spaced.deliveriesPerSec", "spaced: deliveries/s of fan-out time"],
  ["spaced.incomplete", "spaced: incomplete fan-outs"],
  ["spaced.serverCpu", "spaced: server CPU (cores)"],
  ["spaced.genCpu", "spaced: generator CPU (cores)"],
  ["spaced.otherCpu", "spaced: other tenants' CPU (cores)"],
  ["closed.deliveriesPerSec", "closed loop: deliveries/s"],
  ["closed.p50", "closed loop: fan-out p50 ms"],
  ["closed.p99", "closed loop: fan-out p99 ms"],
  ["closed.incomplete", "closed loop: incomplete fan-outs"],
  ["closed.serverCpu", "closed loop: server CPU (cores)"],
  ["closed.genCpu", "closed loop: generator CPU (cores)"],
  ["closed.otherCpu", "closed loop: other tenants' CPU (cores)"],
  ["closed.serverUsPerDelivery", "closed loop: server CPU µs per delivery"],
  ["closed.genUsPerDelivery", "closed loop: generator CPU µs per delivery"],
  ["loginSecs", "setup: logins s"],
  ["joinSecs", "setup: room joins s"],
  ["capsQueries", "setup: disco#info caps queries answered"],
];
for (const s of [...new Set(rows.map((r) => r.scenario))]) {
  console.log(`\n### ${s}\n`);
  printMedianTable(labels, METRICS, (l, key) => cell(s, l, key));
}
