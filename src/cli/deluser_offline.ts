/**
 * What a running server's modules do when an account goes, done by
 * `parley deluser` on the storage itself when no server runs (no modules
 * are loaded there): the account's invites are withdrawn, and the local
 * contacts' subscriptions with it end as if it had sent them unsubscribe
 * and unsubscribed (RFC 6121 §2.5.2, XEP-0077 §3.2), as the roster
 * module's `user-deleting` hook does online. Without this, whoever
 * registered the name next (after the tombstone, or forced) would inherit
 * the contacts' presence subscriptions and the invites' roster links.
 * Contacts on other servers cannot be told offline.
 */
import { type Config, hostConfigs } from "../config/schema.ts";
import { parseJid } from "../jid.ts";
import { Roster } from "../modules/roster/roster_store.ts";
import { inbound } from "../modules/roster/subscriptions.ts";
import { INVITES_STORE, InviteStore } from "../modules/invites/store.ts";
import type { StorageDriver } from "../storage/types.ts";

/** Removes `user@host`'s invites; how many there were. */
export function removeUserInvitesOffline(
  storage: StorageDriver,
  host: string,
  user: string,
): Promise<number> {
  return new InviteStore(storage.map(host, INVITES_STORE)).removeByInviter(`${user}@${host}`);
}

/**
 * Ends the subscriptions local contacts hold with `user@host`; returns how
 * many contacts' rosters changed. Call before the account's roster goes.
 * Bounded by the roster's size (`roster.maxItems`).
 */
export async function endLocalSubscriptionsOffline(
  config: Config,
  storage: StorageDriver,
  host: string,
  user: string,
): Promise<number> {
  const self = `${user}@${host}`;
  const local = new Set(hostConfigs(config).map((h) => h.domain));
  const own = Roster.fromJson(await storage.keyval(host, "roster").get(user));
  let changed = 0;
  for (const contact of new Set([...own.items.keys(), ...own.pending.keys()])) {
    const jid = parseJid(contact);
    if (jid?.local === undefined || jid.resource !== undefined || !local.has(jid.domain)) continue;
    if (jid.bare === self) continue;
    const store = storage.keyval(jid.domain, "roster");
    const stored = await store.get(jid.local);
    if (stored === undefined) continue;
    const roster = Roster.fromJson(stored);
    const before = roster.state(self);
    const after = inbound("unsubscribed", inbound("unsubscribe", before).state).state;
    const item = roster.applyState(self, after);
    if (item === undefined && before.pendingIn === after.pendingIn) continue;
    roster.version++;
    await store.set(jid.local, roster.toJson());
    changed++;
  }
  return changed;
}
