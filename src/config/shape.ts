/**
 * Walks the zod config schema, so error hints and the documentation test
 * know every key without a second hand-kept list that could drift.
 */
import { z } from "zod";
import { configSchema } from "./schema.ts";

/** Strip the wrappers that do not change which keys an object accepts. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (
    s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodOptional ||
    s instanceof z.ZodNullable
  ) {
    s = s.unwrap() as z.ZodType;
  }
  return s;
}

/** The object schemas a value at `path` may be (several for unions like `hosts[]`). */
function objectsAt(path: readonly PropertyKey[], root: z.ZodType = configSchema): z.ZodObject[] {
  let current: z.ZodType[] = [root];
  for (const key of path) {
    const next: z.ZodType[] = [];
    for (const candidate of current.flatMap(expandUnion)) {
      if (candidate instanceof z.ZodObject && typeof key === "string" && key in candidate.shape) {
        next.push(candidate.shape[key] as z.ZodType);
      } else if (candidate instanceof z.ZodArray && typeof key === "number") {
        next.push(candidate.element as z.ZodType);
      } else if (candidate instanceof z.ZodRecord && typeof key === "string") {
        next.push(candidate.valueType as z.ZodType);
      }
    }
    current = next;
  }
  return current.flatMap(expandUnion).filter((s): s is z.ZodObject => s instanceof z.ZodObject);
}

function expandUnion(schema: z.ZodType): z.ZodType[] {
  const s = unwrap(schema);
  if (s instanceof z.ZodUnion) return (s.options as z.ZodType[]).flatMap(expandUnion);
  return [s];
}

/** The keys an object at `path` accepts (empty when `path` is not an object). */
export function knownKeysAt(path: readonly PropertyKey[]): string[] {
  return [...new Set(objectsAt(path).flatMap((o) => Object.keys(o.shape)))];
}

/**
 * Every key of the schema as a dotted path, arrays written `[]`:
 * `hosts[].tls.certificate`, `c2s.maxStanzaSize`. Record values (free-form
 * keys such as `log.categories`) stop the walk.
 */
export function allKeyPaths(root: z.ZodType = configSchema, prefix = ""): string[] {
  const out: string[] = [];
  for (const s of expandUnion(root)) {
    if (s instanceof z.ZodObject) {
      for (const [key, child] of Object.entries(s.shape)) {
        const path = prefix ? `${prefix}.${key}` : key;
        out.push(path);
        out.push(...allKeyPaths(child as z.ZodType, path));
      }
    } else if (s instanceof z.ZodArray) {
      out.push(...allKeyPaths(s.element as z.ZodType, `${prefix}[]`));
    }
  }
  return [...new Set(out)];
}

/**
 * The keys that are optional with no default (absent unless the file sets
 * them, like `tls` or `s2s.caFile`), in the same notation.
 */
export function optionalKeyPaths(root: z.ZodType = configSchema, prefix = ""): string[] {
  const out: string[] = [];
  for (const s of expandUnion(root)) {
    if (s instanceof z.ZodObject) {
      for (const [key, child] of Object.entries(s.shape)) {
        const path = prefix ? `${prefix}.${key}` : key;
        if (child instanceof z.ZodOptional) out.push(path);
        out.push(...optionalKeyPaths(child as z.ZodType, path));
      }
    } else if (s instanceof z.ZodArray) {
      out.push(...optionalKeyPaths(s.element as z.ZodType, `${prefix}[]`));
    }
  }
  return [...new Set(out)];
}

/** The same notation for the keys present in a JSON value. */
export function keyPathsOf(value: unknown, prefix = ""): string[] {
  const out: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) out.push(...keyPathsOf(item, `${prefix}[]`));
  } else if (value !== null && typeof value === "object") {
    for (const [key, child] of Object.entries(value)) {
      const path = prefix ? `${prefix}.${key}` : key;
      out.push(path, ...keyPathsOf(child, path));
    }
  }
  return [...new Set(out)];
}
