/**
 * A small metrics registry: families whose samples are read when scraped
 * (collectors), rendered as OpenMetrics 1.0 text or as the Prometheus
 * text format 0.0.4. Values live where they are counted (counters.ts,
 * histograms, the session registry); a family only knows how to read them.
 */
import type { Histogram } from "./histogram.ts";

export type MetricType = "counter" | "gauge" | "histogram";

export type Labels = Record<string, string>;

export interface Sample {
  labels?: Labels;
  value: number;
}

export interface HistogramSample {
  labels?: Labels;
  histogram: Histogram;
}

export interface Family {
  /** Without `_total` for counters (added when rendered). */
  name: string;
  type: MetricType;
  help: string;
  /** OpenMetrics unit; the name must end with `_<unit>`. */
  unit?: string;
  /** Counters and gauges. */
  samples?: () => Sample[];
  /** Histograms. */
  histograms?: () => HistogramSample[];
}

export type Format = "openmetrics" | "prometheus";

export const CONTENT_TYPES: Record<Format, string> = {
  openmetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8",
  prometheus: "text/plain; version=0.0.4; charset=utf-8",
};

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export class Registry {
  readonly #families: Family[] = [];

  add(family: Family): void {
    if (!NAME.test(family.name)) throw new Error(`bad metric name ${family.name}`);
    if (family.unit !== undefined && !family.name.endsWith("_" + family.unit)) {
      throw new Error(`metric ${family.name} must end with its unit ${family.unit}`);
    }
    if (this.#families.some((f) => f.name === family.name)) {
      throw new Error(`metric ${family.name} is already registered`);
    }
    this.#families.push(family);
  }

  render(format: Format): string {
    const out: string[] = [];
    const om = format === "openmetrics";
    for (const f of this.#families) {
      // Prometheus text names the counter family by its sample name.
      const declared = !om && f.type === "counter" ? f.name + "_total" : f.name;
      out.push(`# TYPE ${declared} ${f.type}`);
      if (om && f.unit !== undefined) out.push(`# UNIT ${declared} ${f.unit}`);
      out.push(`# HELP ${declared} ${escapeHelp(f.help)}`);
      if (f.type === "histogram") {
        for (const { labels, histogram } of f.histograms?.() ?? []) {
          let cumulative = 0;
          histogram.bounds.forEach((le, i) => {
            cumulative += histogram.counts[i];
            out.push(line(f.name + "_bucket", { ...labels, le: formatNumber(le) }, cumulative));
          });
          out.push(line(f.name + "_bucket", { ...labels, le: "+Inf" }, histogram.count));
          out.push(line(f.name + "_sum", labels, histogram.sum));
          out.push(line(f.name + "_count", labels, histogram.count));
        }
      } else {
        const suffix = f.type === "counter" ? "_total" : "";
        for (const s of f.samples?.() ?? []) out.push(line(f.name + suffix, s.labels, s.value));
      }
    }
    if (om) out.push("# EOF");
    return out.join("\n") + "\n";
  }
}

function line(name: string, labels: Labels | undefined, value: number): string {
  const pairs = labels ? Object.entries(labels) : [];
  const set = pairs.length === 0
    ? ""
    : "{" + pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",") + "}";
  return `${name}${set} ${formatNumber(value)}`;
}

/** OpenMetrics numbers: integers as such, +Inf/-Inf/NaN spelled out. */
export function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}
