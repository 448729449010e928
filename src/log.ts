/**
 * Logging: LogTape with one category per subsystem under "parley"
 * (["parley","c2s"], ["parley","storage"] …). Level and format come from
 * the config; until `configureLogging` runs nothing is printed.
 */
import {
  configure,
  getJsonLinesFormatter,
  getLogger,
  getTextFormatter,
  type Logger,
  type LogLevel,
  type LogRecord,
  reset,
} from "@logtape/logtape";

export type { Logger };

/**
 * Every subsystem that logs, by its category under "parley". The config's
 * `log.categories` keys are checked against this list (plus `mod.<module>`,
 * the category of each module's api.log), and `logger()` only takes these,
 * so a new category cannot be used without being listed here.
 */
export const LOG_CATEGORIES = [
  "auth",
  "c2s",
  "component",
  "events",
  "http",
  "main",
  "mod",
  "net",
  "router",
  "s2s",
  "server",
  "sessions",
  "storage",
  "tls",
] as const;

export type LogCategory = typeof LOG_CATEGORIES[number];

export function logger(category: LogCategory, ...sub: string[]): Logger {
  return getLogger(["parley", category, ...sub]);
}

export interface LogSettings {
  level: LogLevel;
  format: "text" | "json";
  /** Per-subsystem levels, keyed by the category under "parley" ("c2s", "storage"). */
  categories?: Record<string, LogLevel>;
}

export async function configureLogging(settings: LogSettings): Promise<void> {
  const formatter = settings.format === "json"
    ? getJsonLinesFormatter()
    : getTextFormatter({ timestamp: "date-time-tz" });
  // Logs go to stderr, written synchronously so nothing is lost on exit.
  const encoder = new TextEncoder();
  const sink = (record: LogRecord) => {
    Deno.stderr.writeSync(encoder.encode(formatter(record)));
  };
  const children = Object.entries(settings.categories ?? {}).map(([cat, level]) => ({
    category: ["parley", ...cat.split(".")],
    lowestLevel: level,
    sinks: ["console"],
    // Without "override" the child would print each line twice (through the parent too).
    parentSinks: "override" as const,
  }));
  await configure({
    reset: true,
    sinks: { console: sink },
    loggers: [
      { category: ["parley"], lowestLevel: settings.level, sinks: ["console"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
      ...children,
    ],
  });
}

export async function resetLogging(): Promise<void> {
  await reset();
}
