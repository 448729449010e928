/**
 * What a config reload may change in a running server, and what it may
 * not. The running config becomes the old one with the reloadable parts
 * taken from the new file; every other difference is reported as needing
 * a restart and left as it was, so the server never runs half of a
 * setting (a listener's port, the storage driver, a limit captured by a
 * module at start-up).
 */
import { type Config, SERVICE_MODULES } from "../config/schema.ts";

/** Top-level keys a reload applies: the hosted domains and their modules, certificates, logging. */
const APPLIED = ["hosts", "modules", "admins", "tls", "log"] as const;
/** In a service's section (`muc`, `pubsub`…): whether it runs, and on which domain. */
const SERVICE_APPLIED = ["enabled", "domain"] as const;
/**
 * Settings that restrict access, applied by a reload (`section.key`): a
 * door the operator closes must close at once, not at the next restart.
 * Their users read them from the running config where they decide, never
 * once at start-up (the reloader updates that config's sections in place).
 */
export const ACCESS_APPLIED = [
  ["registration", "enabled"],
  ["invites", "allowUsers"],
  ["s2s", "requireEncryption"],
  ["s2s", "requireValidCertificates"],
  ["muc", "create"],
  ["pubsub", "create"],
  ["upload", "allowedTypes"],
  ["http", "trustedProxies"],
  ["metrics", "allowFrom"],
  ["metrics", "token"],
] as const;
/** Keys whose changes are listed one level down (`listeners.c2s`), as operators name them. */
const LISTED_BY_CHILD = new Set<string>([
  "listeners",
  "storage",
  ...Object.keys(SERVICE_MODULES),
  // A section a reload partly applies: "registration" alone would read as all of it waiting.
  ...ACCESS_APPLIED.map(([section]) => section),
]);

export interface ReloadPlan {
  /** The config the server runs after the reload. */
  effective: Config;
  /** Changed settings that only a restart applies (`listeners.c2s`, `storage.driver`, `dataDir`). */
  needsRestart: string[];
}

export function planReload(running: Config, next: Config): ReloadPlan {
  const effective: Config = { ...running };
  const target = effective as Record<string, unknown>;
  for (const key of APPLIED) target[key] = next[key];
  for (const key of Object.keys(SERVICE_MODULES) as (keyof typeof SERVICE_MODULES)[]) {
    const section = { ...running[key] } as Record<string, unknown>;
    for (const sub of SERVICE_APPLIED) section[sub] = next[key][sub];
    target[key] = section;
  }
  for (const [key, sub] of ACCESS_APPLIED) {
    const section = { ...(target[key] as Record<string, unknown>) };
    section[sub] = (next[key] as Record<string, unknown>)[sub];
    target[key] = section;
  }
  return { effective, needsRestart: differences(effective, next) };
}

/** The settings where `a` and `b` differ, as `key` or `key.child`. */
function differences(a: Config, b: Config): string[] {
  const out: string[] = [];
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  for (const key of new Set([...Object.keys(left), ...Object.keys(right)])) {
    if (same(left[key], right[key])) continue;
    const l = left[key], r = right[key];
    if (LISTED_BY_CHILD.has(key) && isObject(l) && isObject(r)) {
      for (const sub of new Set([...Object.keys(l), ...Object.keys(r)])) {
        if (!same(l[sub], r[sub])) out.push(`${key}.${sub}`);
      }
    } else out.push(key);
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Config values are JSON: equal when they serialise alike (keys come in schema order). */
function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
