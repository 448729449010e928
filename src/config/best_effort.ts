/**
 * Validation that does not stop at the schema: the values the schema
 * rejects are removed (so their defaults apply) and the rest is parsed
 * again, which gives a config the later checks (semantics, certificates)
 * can run on. The operator then sees every problem of the file in one
 * pass, not one batch per fix.
 */
import type { z } from "zod";
import { type Config, configSchema } from "./schema.ts";

export interface BestEffort {
  /** The schema's problems with the file as written. */
  issues: z.core.$ZodIssue[];
  /** The config without the rejected values; undefined when nothing usable remains. */
  config?: Config;
  /**
   * Where values were removed (for an array item, the whole array, whose
   * indices shifted): later checks under these paths would be about
   * defaults or the wrong item, not about the file.
   */
  removed: PropertyKey[][];
}

/** Each round removes what the previous parse rejected; a deeper problem may need another. */
const MAX_ROUNDS = 8;

export function parseBestEffort(raw: unknown): BestEffort {
  const first = configSchema.safeParse(raw, { reportInput: true });
  if (first.success) return { issues: [], config: first.data, removed: [] };
  const removed: PropertyKey[][] = [];
  const value = structuredClone(raw);
  let issues = first.error.issues;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const targets = issues.flatMap(removalTargets);
    if (targets.some((t) => t.length === 0)) break; // the file's top level itself is wrong
    removed.push(...removeAll(value, targets.map((t) => missingToParent(value, t))));
    const next = configSchema.safeParse(value);
    if (next.success) return { issues: first.error.issues, config: next.data, removed };
    issues = next.error.issues;
  }
  return { issues: first.error.issues, removed };
}

/**
 * What to remove for one issue: the unknown keys themselves, inside a
 * union the branch that got furthest (as errors.ts reports it), else the
 * value at the issue's path.
 */
function removalTargets(issue: z.core.$ZodIssue): PropertyKey[][] {
  if (issue.code === "unrecognized_keys") return issue.keys.map((k) => [...issue.path, k]);
  if (issue.code === "invalid_union") {
    const deeper = issue.errors
      .filter((b) => !(b.length === 1 && b[0].code === "invalid_type" && b[0].path.length === 0))
      .sort((a, b) => a.length - b.length)[0];
    if (deeper && deeper.length > 0) {
      return deeper.flatMap((inner) =>
        removalTargets({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue)
      );
    }
  }
  return [issue.path.slice()];
}

/** A required key that is absent cannot be removed: remove what holds it. */
function missingToParent(root: unknown, path: PropertyKey[]): PropertyKey[] {
  let p = path;
  while (p.length > 0 && valueAt(root, p) === undefined) p = p.slice(0, -1);
  return p;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/**
 * Removes every path and returns what changed. Array items are filtered
 * out afterwards, so the other paths' indices stay valid meanwhile.
 */
function removeAll(root: unknown, paths: PropertyKey[][]): PropertyKey[][] {
  const changed: PropertyKey[][] = [];
  const fromArrays = new Map<unknown[], Set<number>>();
  for (const path of paths) {
    if (path.length === 0) continue;
    const parent = valueAt(root, path.slice(0, -1));
    const key = path[path.length - 1];
    if (Array.isArray(parent) && typeof key === "number") {
      const set = fromArrays.get(parent) ?? new Set();
      set.add(key);
      fromArrays.set(parent, set);
      changed.push(path.slice(0, -1));
    } else if (parent !== null && typeof parent === "object") {
      delete (parent as Record<PropertyKey, unknown>)[key];
      changed.push(path);
    }
  }
  for (const [array, indices] of fromArrays) {
    const kept = array.filter((_, i) => !indices.has(i));
    array.length = 0;
    array.push(...kept);
  }
  return changed;
}
