/**
 * Finds, parses and validates the configuration. Every problem is collected
 * into one ConfigError so the operator fixes the file in one pass, and the
 * returned config holds absolute paths so nothing later depends on the cwd.
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { type Config, configSchema } from "./schema.ts";
import { ConfigError, describeIssues } from "./errors.ts";
import { semanticIssues } from "./semantics.ts";

export { ConfigError };

/** Looked for in the working directory when no path is given. */
export const DEFAULT_CONFIG_FILE = "config.json";

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file read; undefined for the embedded default. */
  path?: string;
}

export async function loadConfig(path?: string): Promise<LoadedConfig> {
  const file = path !== undefined ? resolve(path) : await defaultFile();
  if (file === undefined) {
    // The embedded default: localhost, SQLite and certificates under ./data.
    return { config: validate({}, Deno.cwd()) };
  }
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "file not found" : `cannot read: ${e}`;
    throw new ConfigError([why], file);
  }
  return { config: validate(parseJson(text, file), dirname(file), file), path: file };
}

async function defaultFile(): Promise<string | undefined> {
  const candidate = resolve(DEFAULT_CONFIG_FILE);
  try {
    return (await Deno.stat(candidate)).isFile ? candidate : undefined;
  } catch {
    return undefined;
  }
}

/** Schema, then paths, then the checks that need absolute paths. */
function validate(raw: unknown, baseDir: string, file?: string): Config {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error.issues), file);
  const config = resolvePaths(parsed.data, baseDir);
  const issues = semanticIssues(config);
  if (issues.length > 0) throw new ConfigError(issues, file);
  return config;
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

/** JSON.parse, with the error's position given as line and column. */
function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
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
    throw new ConfigError([`${where}invalid JSON: ${detail}`], file);
  }
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split("\n");
  return `line ${before.length}, column ${before[before.length - 1].length + 1}: `;
}
