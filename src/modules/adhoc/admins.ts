/**
 * Whether a requester is one of the host's admins (`admins` and
 * `hosts[].admins`). Read from the host's config on every call: a config
 * reload replaces it while the modules stay loaded, and an admin removed
 * there must lose the right at once, sessions already open included.
 */
import { type Jid, parseJid } from "../../jid.ts";
import type { ModuleApi } from "../../core/module_api.ts";

export function isHostAdmin(api: ModuleApi, requester: Jid): boolean {
  return api.host.config.admins.some((a) => parseJid(a)?.bare === requester.bare);
}
