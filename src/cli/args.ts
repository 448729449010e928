/** Strict option parsing shared by every command. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./exit.ts";

export const CONFIG_OPTION = {
  config: { type: "string", short: "c" },
} as const;

export const HELP_OPTION = {
  help: { type: "boolean", short: "h" },
} as const;

export const CONFIG_HELP =
  `  -c, --config PATH   Config file (default: ./config.json if present, else the
                      embedded default: localhost, SQLite in ./data)`;

/**
 * parseArgs in strict mode, with its TypeError (unknown option, missing
 * value) turned into a UsageError so the caller exits 2, not with a stack.
 */
export function parse<T extends ParseArgsConfig>(args: string[], config: T) {
  try {
    return parseArgs({ ...config, args, strict: true });
  } catch (e) {
    if (e instanceof TypeError) throw new UsageError(e.message);
    throw e;
  }
}

/** Exactly `count` positionals, named in the error. */
export function positionals(values: string[], names: string[]): string[] {
  if (values.length < names.length) {
    throw new UsageError(`missing ${names.slice(values.length).join(" and ")}`);
  }
  if (values.length > names.length) {
    throw new UsageError(`unexpected argument "${values[names.length]}"`);
  }
  return values;
}

/**
 * For commands whose only option is `--config`: its value, or null once
 * `--help` has been printed.
 */
export function parseConfigOnly(args: string[], help: string): { config?: string } | null {
  const { values, positionals: rest } = parse(args, {
    options: { ...CONFIG_OPTION, ...HELP_OPTION },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(help);
    return null;
  }
  positionals(rest, []);
  return { config: values.config };
}
