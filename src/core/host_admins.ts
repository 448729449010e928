/**
 * Whether a bare JID is one of the host's admins (`admins` and
 * `hosts[].admins`; a service host has its parent's). Read from the
 * host's config on every call: a config reload replaces it while the
 * modules stay loaded, and an admin removed there must lose the right at
 * once, sessions already open included. Entries are compared prepared, so
 * `Admin@Example.org` in the config names admin@example.org.
 */
import { parseJid } from "../jid.ts";
import type { ModuleApi } from "./module_api.ts";

/**
 * Prepared admin JIDs per config list. A reload builds new lists (never
 * edits one), so a list's prepared set stays right while it is in use;
 * MUC asks on every message, and preparing each entry each time is waste.
 */
const prepared = new WeakMap<readonly string[], ReadonlySet<string>>();

/** Whether `bare` is named in an `admins` list of the config. */
export function inAdminList(admins: readonly string[], bare: string): boolean {
  let set = prepared.get(admins);
  if (!set) {
    set = new Set(admins.map((a) => parseJid(a)?.bare).filter((j) => j !== undefined));
    prepared.set(admins, set);
  }
  return set.has(bare);
}

export function isHostAdmin(api: ModuleApi, bare: string): boolean {
  return inAdminList(api.host.config.admins, bare);
}
