/**
 * Creating and removing accounts, the one way every caller does it
 * (in-band registration, admin commands, the CLI): a removal leaves a
 * tombstone that keeps the name from being taken again for a while
 * (core/tombstones.ts), and a creation honours it unless forced.
 */
import type { AuthProvider } from "../auth/types.ts";
import type { StorageDriver } from "../storage/types.ts";
import { StreamError } from "./errors.ts";
import type { Host } from "./host.ts";
import type { ServerParts } from "./module_api.ts";
import { Tombstones } from "./tombstones.ts";

export interface UserDeletedEvent {
  username: string;
}

/** What account creation and removal touch, with or without a running server. */
export interface AccountStores {
  auth: AuthProvider;
  storage: StorageDriver;
  tombstones: Tombstones;
}

export type AccountCreation =
  | { created: true }
  | { created: false; reason: "exists" }
  /** A deleted account's tombstone holds the name until `until` (ms). */
  | { created: false; reason: "reserved"; until: number };

/** The stores of a running server; tombstones kept for `accounts.tombstoneDays`. */
export function accountStores(parts: ServerParts): AccountStores {
  return {
    auth: parts.auth,
    storage: parts.storage,
    tombstones: new Tombstones(parts.storage, parts.config.accounts.tombstoneDays),
  };
}

/**
 * Create `username` on `host`. A name under a tombstone is refused unless
 * `force` (an operator who means it), which also removes the tombstone.
 */
export async function createAccount(
  stores: AccountStores,
  host: string,
  username: string,
  password: string,
  force = false,
): Promise<AccountCreation> {
  if (!force) {
    const until = await stores.tombstones.reservedUntil(host, username);
    if (until !== undefined) return { created: false, reason: "reserved", until };
  }
  if (!await stores.auth.createUser(host, username, password)) {
    return { created: false, reason: "exists" };
  }
  if (force) await stores.tombstones.lift(host, username);
  return { created: true };
}

/**
 * Remove everything stored for `username`: tombstone first (the name is
 * never free while anything of the account is left), data next,
 * credentials last, so an interrupted removal can be repeated.
 */
export async function removeAccountData(
  stores: AccountStores,
  host: string,
  username: string,
): Promise<void> {
  await stores.tombstones.bury(host, username);
  await stores.storage.deleteUser(host, username);
  await stores.auth.deleteUser(host, username);
}

/**
 * Remove an account of a running server: sessions closed, modules told
 * (`user-deleting` before the data goes, `user-deleted` after), then
 * `removeAccountData`.
 */
export async function deleteAccount(
  parts: ServerParts,
  host: Host,
  username: string,
): Promise<void> {
  // The credentials go last: until then no login may succeed (c2s_auth).
  parts.sessions.beginRemoval(host.domain, username);
  try {
    endSessions(parts, host, username);
    // Modules that must still read the account's data (the roster, to end
    // its subscriptions) act before it is gone.
    await host.events.fire<UserDeletedEvent>("user-deleting", { username });
    await removeAccountData(accountStores(parts), host.domain, username);
  } finally {
    parts.sessions.endRemoval(host.domain, username);
  }
  await host.events.fire<UserDeletedEvent>("user-deleted", { username });
  // Service hosts keep data of the parent's users too (upload: their files).
  for (const service of host.services) {
    await service.events.fire<UserDeletedEvent>("user-deleted", { username });
  }
}

/**
 * Bound resources, and streams that authenticated but have not bound
 * yet: left open, they would bind a resource of an account that is gone.
 */
function endSessions(parts: ServerParts, host: Host, username: string): void {
  const sessions = new Set(parts.sessions.resources(host.domain, username));
  for (const session of parts.sessions.live) {
    if (session.host === host.domain && session.username === username) sessions.add(session);
  }
  for (const session of sessions) {
    parts.sessions.destroySession(session, new StreamError("not-authorized", "Account removed"));
  }
}
