/**
 * Markdown tables of medians (min–max) for the summarize.ts scripts that
 * read run_all.sh's raw.jsonl: one row a metric, one column a target (or
 * target and scenario), the repetitions of a cell folded into one median.
 */

/** "median (min–max)" of the numbers that are not NaN; "–" if none, the value alone if one. */
export function medianRange(values: number[]): string {
  const xs = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (xs.length === 0) return "–";
  const med = xs[Math.floor((xs.length - 1) / 2)];
  const f = (x: number) => (Math.abs(x) >= 100 ? Math.round(x).toString() : String(x));
  return xs.length === 1 ? f(med) : `${f(med)} (${f(xs[0])}–${f(xs[xs.length - 1])})`;
}

/**
 * Prints the table: `metrics` as [key, name] rows, `cell(column, key)` for
 * each column; a metric no column has (every cell "–") is left out.
 */
export function printMedianTable(
  columns: string[],
  metrics: [string, string][],
  cell: (column: string, key: string) => string,
): void {
  console.log(`| metric | ${columns.join(" | ")} |`);
  console.log(`| --- | ${columns.map(() => "---").join(" | ")} |`);
  for (const [key, name] of metrics) {
    const cells = columns.map((c) => cell(c, key));
    if (cells.every((c) => c === "–")) continue;
    console.log(`| ${name} | ${cells.join(" | ")} |`);
  }
}
