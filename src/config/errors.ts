/**
 * Turns zod issues into lines an operator can act on: the key's path, what
 * is wrong, and how to fix it.
 */
import type { z } from "zod";
import { knownKeysAt } from "./shape.ts";
import { didYouMean } from "./suggest.ts";

const WHERE_DOCUMENTED = "every key is described in docs/configuration.md and config.example.json";

/** A configuration that cannot be used; the server must not start with it. */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** One line per problem, `path.to.key: message`. */
  readonly issues: string[];
  /** The file the problems are in; undefined for the embedded default. */
  readonly file?: string;

  constructor(issues: string[], file?: string) {
    const where = file ?? "the embedded default configuration";
    super(
      issues.length === 1
        ? `${where}: ${issues[0]}`
        : `${issues.length} problems in ${where}:\n${issues.map((i) => `  - ${i}`).join("\n")}`,
    );
    this.issues = issues;
    this.file = file;
  }
}

/** `["hosts", 1, "tls"]` → `hosts[1].tls`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || "(top level)";
}

export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => describeIssue(issue, issue.path));
}

function describeIssue(issue: z.core.$ZodIssue, path: readonly PropertyKey[]): string[] {
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => {
        const hint = didYouMean(key, knownKeysAt(path));
        return `${formatPath([...path, key])}: unknown key; ${hint}(${WHERE_DOCUMENTED})`;
      });
    case "invalid_type":
      return [`${formatPath(path)}: ${typeProblem(issue)}`];
    case "invalid_union":
      return describeUnion(issue, path);
    case "invalid_value":
      return [
        `${formatPath(path)}: ${shown(issue.input)} is not allowed: expected one of ${
          issue.values.map((v) => JSON.stringify(v)).join(", ")
        }`,
      ];
    case "too_small":
      return [`${formatPath(path)}: ${boundProblem(issue, issue.minimum, "small")}`];
    case "too_big":
      return [`${formatPath(path)}: ${boundProblem(issue, issue.maximum, "big")}`];
    default:
      return [`${formatPath(path)}: ${issue.message}`];
  }
}

/** A value as the operator wrote it, shortened: the file may hold something huge. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function typeProblem(issue: z.core.$ZodIssueInvalidType): string {
  // An absent required key reads better spelled out.
  if (issue.input === undefined) return `missing required key (expected ${issue.expected})`;
  if (issue.expected === "int") return `${shown(issue.input)} is not a whole number`;
  const got = issue.input === null
    ? "null"
    : Array.isArray(issue.input)
    ? "array"
    : typeof issue.input;
  return `wrong type: expected ${issue.expected}, received ${got} ${shown(issue.input)}`;
}

/** Unit names for length bounds, by zod's `origin`. */
const UNITS: Record<string, [one: string, many: string]> = {
  string: ["character", "characters"],
  array: ["item", "items"],
  set: ["item", "items"],
};

/**
 * `12 is too small: at least 1024`, `"" is too short: at least 1 character`,
 * `[] has too few items: at least 1 item`: the value and the bound, in the
 * CLI's words rather than zod's.
 */
function boundProblem(
  issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig,
  boundValue: number | bigint,
  side: "small" | "big",
): string {
  const bound = Number(boundValue);
  const inclusive = issue.inclusive !== false;
  const limit = side === "small"
    ? (inclusive ? `at least ${bound}` : `more than ${bound}`)
    : (inclusive ? `at most ${bound}` : `less than ${bound}`);
  const units = UNITS[issue.origin];
  if (!units) return `${shown(issue.input)} is too ${side}: ${limit}`;
  const unit = bound === 1 ? units[0] : units[1];
  const what = issue.origin === "string"
    ? (side === "small" ? "is too short" : "is too long")
    : (side === "small" ? `has too few ${units[1]}` : `has too many ${units[1]}`);
  return `${shown(issue.input)} ${what}: ${limit} ${unit}`;
}

/**
 * A union fails as a whole; when every branch only rejected the value's type
 * (a number where a host name or host object belongs), say which types fit.
 * Otherwise report the branch that got furthest.
 */
function describeUnion(
  issue: z.core.$ZodIssueInvalidUnion,
  path: readonly PropertyKey[],
): string[] {
  const branches = issue.errors;
  const typeOnly = branches.every((b) =>
    b.length === 1 && b[0].code === "invalid_type" && b[0].path.length === 0
  );
  if (typeOnly) {
    const expected = branches.map((b) => (b[0] as z.core.$ZodIssueInvalidType).expected);
    return [`${formatPath(path)}: wrong type: expected ${[...new Set(expected)].join(" or ")}`];
  }
  const furthest = branches
    .filter((b) => !(b.length === 1 && b[0].code === "invalid_type" && b[0].path.length === 0))
    .sort((a, b) => a.length - b.length)[0] ?? [];
  if (furthest.length === 0) return [`${formatPath(path)}: ${issue.message}`];
  return furthest.flatMap((inner) => describeIssue(inner, [...path, ...inner.path]));
}
