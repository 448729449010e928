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
 * parseArgs in strict mode. Its TypeError becomes a UsageError (exit 2, no
 * stack) worded like the CLI's other messages: node's own texts tell how to
 * pass "--bogus" as a positional, which is not what an operator who
 * mistyped an option needs.
 */
export function parse<T extends ParseArgsConfig>(args: string[], config: T) {
  try {
    return parseArgs({ ...config, args, strict: true });
  } catch (e) {
    if (e instanceof TypeError) throw new UsageError(optionProblem(args, config) ?? e.message);
    throw e;
  }
}

/** What is wrong with the options, read from parseArgs' tokens (no strict check there). */
function optionProblem(args: string[], config: ParseArgsConfig): string | undefined {
  const options = config.options ?? {};
  const { tokens } = parseArgs({ ...config, args, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    const option = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
    if (!option) return `unknown option "${token.rawName}"`;
    const names = option.short ? `-${option.short}, --${token.name}` : `--${token.name}`;
    if (option.type === "boolean" && token.value !== undefined) {
      return `option ${names} takes no value (got "${token.value}")`;
    }
    if (option.type === "string") {
      if (token.value === undefined) return `option ${names} needs a value`;
      if (!token.inlineValue && token.value.startsWith("-")) {
        // `-c --help`: more likely a forgotten value than a file named "--help".
        return `option ${names} needs a value, not "${token.value}" ` +
          `(for a value that starts with "-", write --${token.name}=${token.value})`;
      }
    }
  }
  return undefined;
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
