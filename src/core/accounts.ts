/**
 * Removing an account, the one way every caller does it (in-band
 * unregistration, admin commands): sessions closed, stored data deleted,
 * credentials removed, modules told (`user-deleting` before the data
 * goes, `user-deleted` after).
 */
import { StreamError } from "./errors.ts";
import type { Host } from "./host.ts";
import type { ServerParts } from "./module_api.ts";

export interface UserDeletedEvent {
  username: string;
}

export async function deleteAccount(
  parts: ServerParts,
  host: Host,
  username: string,
): Promise<void> {
  const bare = parts.sessions.bare(host.domain, username);
  if (bare) {
    for (const session of [...bare.sessions.values()]) {
      parts.sessions.destroySession(session, new StreamError("not-authorized", "Account removed"));
    }
  }
  // Modules that must still read the account's data (the roster, to end
  // its subscriptions) act before it is gone.
  await host.events.fire<UserDeletedEvent>("user-deleting", { username });
  // Data first, credentials last: an interrupted removal can be repeated.
  await parts.storage.deleteUser(host.domain, username);
  await parts.auth.deleteUser(host.domain, username);
  await host.events.fire<UserDeletedEvent>("user-deleted", { username });
}
