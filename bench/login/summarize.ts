/** Markdown table of medians (min–max) per label and scenario from run_all.sh's raw.jsonl. */
import { medianRange, printMedianTable } from "../shared/median_table.ts";

const [path] = Deno.args;
type Row = Record<string, unknown> & { label: string; scenario: string };
const rows: Row[] = Deno.readTextFileSync(path).trim().split("\n").map((l) => JSON.parse(l));
const ok = rows.filter((r) => !r.aborted && !r.skipped && typeof r.logins === "number");
const columns = [...new Set(ok.map((r) => `${r.label} ${r.scenario}`))];

function cell(column: string, key: string): string {
  return medianRange(
    ok.filter((r) => `${r.label} ${r.scenario}` === column)
      .map((r) => r[key]).filter((x): x is number => typeof x === "number"),
  );
}

const METRICS: [string, string][] = [
  ["loginsPerSec", "logins/s"],
  ["p50", "login latency p50 ms"],
  ["p99", "login latency p99 ms"],
  ["serverCpuMsPerLogin", "server CPU ms per login"],
  ["serverCpu", "server CPU (cores)"],
  ["genCpuMsPerLogin", "generator CPU ms per login"],
  ["genCpu", "generator CPU (cores)"],
  ["otherCpu", "other tenants' CPU (cores)"],
  ["failures", "failed logins"],
  ["rotations", "FAST token rotations seen"],
  ["logins", "logins measured"],
];
printMedianTable(columns, METRICS, cell);
const skipped = rows.filter((r) => r.skipped || r.aborted);
if (skipped.length) {
  console.log(
    `\nNot run: ${
      skipped.map((r) => `${r.label} ${r.scenario} (${r.skipped ?? "aborted"})`).join("; ")
    }`,
  );
}
