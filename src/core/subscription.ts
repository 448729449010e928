/**
 * The `roster/get-subscription` event: how modules other than the roster
 * (disco of accounts, last activity, blocking) learn what subscription a
 * contact has in a user's roster, without importing the roster module.
 */
import type { ModuleApi } from "./module_api.ts";

export type SubscriptionState = "none" | "to" | "from" | "both";

/** The event's payload: the roster module answers by filling `subscription` and returning true. */
export interface SubscriptionQuery {
  /** Username (localpart) whose roster is asked. */
  owner: string;
  /** Bare JID of the contact. */
  contact: string;
  subscription?: SubscriptionState;
}

/**
 * The subscription `contact` has in `owner`'s roster. Asked through the
 * `roster/get-subscription` event first; unanswered, read (never written)
 * from the roster module's store, `keyval("roster")`, which it writes
 * through on every change: `{ items: [{ jid, subscription, … }], … }`.
 * "none" when neither knows the contact.
 */
export async function subscriptionOf(
  api: ModuleApi,
  owner: string,
  contact: string,
): Promise<string> {
  const q: SubscriptionQuery = { owner, contact };
  if (await api.fire("roster/get-subscription", q) && q.subscription) return q.subscription;
  const stored = await api.keyval("roster").get(owner);
  if (!stored || typeof stored !== "object" || Array.isArray(stored)) return "none";
  const items = stored.items;
  if (!Array.isArray(items)) return "none";
  for (const item of items) {
    if (item && typeof item === "object" && !Array.isArray(item) && item.jid === contact) {
      return typeof item.subscription === "string" ? item.subscription : "none";
    }
  }
  return "none";
}
