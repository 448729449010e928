/**
 * Reading /metrics in tests: fetch it, check it is well-formed OpenMetrics
 * (a small parser: every sample belongs to a family declared before it,
 * with a suffix its type allows; histogram buckets are cumulative and end
 * at +Inf = _count; the text ends with `# EOF`), and look samples up.
 */
import assert from "node:assert/strict";
import type { TestServer } from "./server.ts";

export interface Scrape {
  /** `name{k="v",…}` (labels as rendered) → value. */
  samples: Map<string, number>;
  /** Family name → type. */
  types: Map<string, string>;
  contentType: string;
}

export async function fetchPath(
  server: TestServer,
  path: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return await fetch(`http://127.0.0.1:${server.ports.http}${path}`, { headers });
}

export async function scrape(
  server: TestServer,
  headers: Record<string, string> = {},
): Promise<Scrape> {
  const res = await fetchPath(server, "/metrics", headers);
  const body = await res.text();
  assert.equal(res.status, 200, body);
  const contentType = res.headers.get("content-type") ?? "";
  return { ...parseOpenMetrics(body), contentType };
}

const SUFFIXES: Record<string, string[]> = {
  counter: ["_total", "_created"],
  gauge: [""],
  histogram: ["_bucket", "_sum", "_count", "_created"],
};
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"$/;

export function parseOpenMetrics(text: string): Omit<Scrape, "contentType"> {
  assert.ok(text.endsWith("# EOF\n"), "ends with # EOF");
  const lines = text.slice(0, -1).split("\n");
  assert.equal(lines.pop(), "# EOF");
  assert.ok(!lines.includes("# EOF"), "one # EOF, at the end");
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  const buckets = new Map<string, number>();
  for (const line of lines) {
    if (line.startsWith("#")) {
      const m = /^# (TYPE|HELP|UNIT) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
      assert.ok(m, `metadata line: ${line}`);
      if (m[1] === "TYPE") {
        assert.ok(!types.has(m[2]), `family declared twice: ${m[2]}`);
        assert.ok(["counter", "gauge", "histogram"].includes(m[3]), line);
        types.set(m[2], m[3]);
      } else {
        assert.ok(types.has(m[2]), `${m[1]} before TYPE: ${line}`);
        if (m[1] === "UNIT") assert.ok(m[2].endsWith("_" + m[3]), line);
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    assert.ok(m, `sample line: ${line}`);
    const [, name, labelText, valueText] = m;
    const family = [...types].find(([f, type]) => SUFFIXES[type].some((s) => f + s === name));
    assert.ok(family, `sample without a declared family: ${line}`);
    const labels = labelText ? splitLabels(labelText.slice(1, -1)) : [];
    for (const l of labels) assert.match(l, LABEL, line);
    const value = valueText === "+Inf" ? Infinity : Number(valueText);
    assert.ok(!Number.isNaN(value), `value: ${line}`);
    const key = name + (labelText ?? "");
    assert.ok(!samples.has(key), `sample twice: ${key}`);
    samples.set(key, value);
    if (family[1] === "histogram" && name.endsWith("_bucket")) {
      const series = name + labels.filter((l) => !l.startsWith("le=")).join(",");
      const previous = buckets.get(series) ?? 0;
      assert.ok(value >= previous, `buckets cumulative: ${line}`);
      buckets.set(series, value);
      if (labels.includes('le="+Inf"')) {
        const count = labelText!.replace(/,?le="\+Inf"/, "").replace("{}", "");
        buckets.set("inf " + family[0] + count, value);
      }
    }
  }
  for (const [key, value] of buckets) {
    if (!key.startsWith("inf ")) continue;
    const [family, labels] = [key.slice(4).replace(/\{.*/, ""), key.slice(4).replace(/^[^{]*/, "")];
    assert.equal(samples.get(family + "_count" + labels), value, `+Inf bucket = _count: ${key}`);
  }
  return { samples, types };
}

function splitLabels(text: string): string[] {
  const out: string[] = [];
  let cur = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\" && quoted) {
      cur += c + text[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === "," && !quoted) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  if (cur) out.push(cur);
  return out;
}

/** A sample's value, 0 when absent (a labelled counter not seen yet). */
export function value(s: Scrape, key: string): number {
  return s.samples.get(key) ?? 0;
}
