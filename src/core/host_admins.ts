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

export function isHostAdmin(api: ModuleApi, bare: string): boolean {
  return api.host.config.admins.some((a) => parseJid(a)?.bare === bare);
}
