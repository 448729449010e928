/**
 * Read-only roster lookups for other modules (the archive's `roster`
 * preference): whether a JID is in a user's roster, from the online copy
 * when the user is online, else from storage. Reads outside the roster
 * queue: a lookup may miss a change still being written, which is no
 * worse than the message arriving a moment earlier.
 */
import type { ModuleApi } from "../../core/module_api.ts";
import { Roster } from "./roster_store.ts";

export function rosterHas(api: ModuleApi, user: string, jid: string): boolean | Promise<boolean> {
  const online = api.sessions.roster(api.domain, user) as Roster | undefined;
  if (online) return online.items.has(jid);
  return api.keyval("roster").get(user).then((v) => Roster.fromJson(v).items.has(jid));
}
