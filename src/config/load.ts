/**
 * Finds, parses and validates the configuration. Every problem is collected
 * into one ConfigError so the operator fixes the file in one pass, and the
 * returned config holds absolute paths so nothing later depends on the cwd.
 */
import { dirname, isAbsolute, resolve } from "node:path";
import type { Config } from "./schema.ts";
import { ConfigError, describeIssues, formatPath } from "./errors.ts";
import { semanticIssues } from "./semantics.ts";
import { parseBestEffort } from "./best_effort.ts";

export { ConfigError };

/** Looked for in the working directory when no path is given. */
export const DEFAULT_CONFIG_FILE = "config.json";

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file read; undefined for the embedded default. */
  path?: string;
}

export async function loadConfig(path?: string): Promise<LoadedConfig> {
  const { config, issues, path: file } = await inspectConfig(path);
  if (issues.length > 0 || config === undefined) throw new ConfigError(issues, file);
  return { config, path: file };
}

export interface ConfigInspection {
  /** Absolute path of the file read; undefined for the embedded default. */
  path?: string;
  /** Every problem found, one `path.to.key: message` line each; empty when the config is valid. */
  issues: string[];
  /**
   * The config with the rejected values replaced by their defaults, for
   * checks that can still run (`parley check`: certificates, DNS); undefined
   * when the file cannot be read or parsed at all.
   */
  config?: Config;
}

/** Like loadConfig, but returns the problems (all of them) instead of throwing. */
export async function inspectConfig(path?: string): Promise<ConfigInspection> {
  const file = path !== undefined ? resolve(path) : await defaultFile();
  if (file === undefined) {
    // The embedded default: localhost, SQLite and certificates under ./data.
    return validate({}, Deno.cwd());
  }
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "file not found" : `cannot read: ${e}`;
    return { path: file, issues: [why] };
  }
  const raw = parseJson(text);
  if (typeof raw === "string") return { path: file, issues: [raw] };
  return { ...validate(raw.value, dirname(file)), path: file };
}

async function defaultFile(): Promise<string | undefined> {
  const candidate = resolve(DEFAULT_CONFIG_FILE);
  try {
    return (await Deno.stat(candidate)).isFile ? candidate : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Schema, then paths, then the checks that need absolute paths. Those run
 * even when the schema found problems, on what it accepted; a check under
 * a value the schema rejected is left out, as it would be about the default
 * that replaced the value (or an array item that moved), not the file.
 */
function validate(raw: unknown, baseDir: string): ConfigInspection {
  const { issues, config, removed } = parseBestEffort(raw);
  const described = describeIssues(issues);
  if (config === undefined) return { issues: described };
  const resolved = resolvePaths(config, baseDir);
  const replaced = removed.map(formatPath);
  const about = (line: string) => line.slice(0, line.indexOf(": "));
  const underReplaced = (line: string) =>
    replaced.some((r) => {
      const at = about(line);
      return at === r || at.startsWith(`${r}.`) || at.startsWith(`${r}[`);
    });
  const semantic = semanticIssues(resolved).filter((line) => !underReplaced(line));
  return { issues: [...described, ...semantic], config: resolved };
}

/**
 * Relative file paths are relative to the config file's directory (the cwd
 * for the embedded default), so `parley serve -c /etc/parley/config.json`
 * behaves the same from any directory (certificates, keys, `s2s.caFile`).
 * `storage.path` stays as written: it
 * is relative to dataDir, which becomes absolute here.
 */
export function resolvePaths(config: Config, baseDir: string): Config {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const tls = (t: { certificate: string; key: string } | undefined) =>
    t && { certificate: abs(t.certificate), key: abs(t.key) };
  return {
    ...config,
    dataDir: abs(config.dataDir),
    tls: tls(config.tls),
    s2s: config.s2s.caFile === undefined
      ? config.s2s
      : { ...config.s2s, caFile: abs(config.s2s.caFile) },
    hosts: config.hosts.map((
      h,
    ) => (typeof h === "string" || !h.tls ? h : { ...h, tls: tls(h.tls) })),
  };
}

/** JSON.parse; on a syntax error, its message with the position as line and column. */
function parseJson(text: string): { value: unknown } | string {
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    const message = (e as Error).message;
    const explicit = /\(line (\d+) column (\d+)\)/.exec(message);
    const position = /at position (\d+)/.exec(message);
    let where = "";
    if (explicit) where = `line ${explicit[1]}, column ${explicit[2]}: `;
    else if (position) where = lineColumn(text, Number(position[1]));
    else if (/end of JSON input/i.test(message)) where = lineColumn(text, text.length);
    const detail = message.replace(/\s*\(line \d+ column \d+\)/, "").replace(
      / in JSON at position \d+/,
      "",
    );
    return `${where}invalid JSON: ${detail}`;
  }
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split("\n");
  return `line ${before.length}, column ${before[before.length - 1].length + 1}: `;
}
