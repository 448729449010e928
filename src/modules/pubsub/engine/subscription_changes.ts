/**
 * Subscription changes to one node, worked out on one copy of its
 * subscriptions: an owner's request may carry up to a thousand of them
 * on a node with up to 10000 subscriptions, and a copy (and a storage
 * write of the whole node) per change made that request cost millions of
 * property copies and hundreds of megabytes written.
 *
 * The limits are those of a single subscribe: per node (the configured
 * one, then 10000) and per bare JID's resources. A change that would
 * pass one stops the batch there; the changes before it stand.
 */
import type { EngineLimits } from "./types.ts";
import { pubsubError } from "./errors.ts";
import type { StanzaError } from "../../../core/errors.ts";

/** Subscriptions a node may have whatever the configuration says. */
export const MAX_SUBSCRIPTIONS_PER_NODE = 10000;

/**
 * Longest JID a subscription may be for. Subscriptions live in the node's
 * record, written whole on every change to the node (each publish): JIDs
 * of up to 3071 characters (RFC 7622) made 10000 of them 30 MB, which
 * strangers could do to an open node. Real JIDs are far shorter.
 */
export const MAX_SUBSCRIPTION_JID = 512;

/** The bare part of a JID string (no parsing: subscriptions hold valid JIDs). */
export const bareOf = (jid: string) => jid.split("/", 1)[0];

export interface SubscriptionOutcome {
  subscriptions: Record<string, "subscribed">;
  /** The changes that took effect, in order (no-ops left out). */
  applied: [string, boolean][];
  /** Why the batch stopped early, if it did. */
  refusal?: StanzaError;
}

export function applySubscriptionChanges(
  current: Readonly<Record<string, "subscribed">>,
  changes: readonly [string, boolean][],
  limits: EngineLimits,
): SubscriptionOutcome {
  const subscriptions = { ...current };
  let count = Object.keys(subscriptions).length;
  /** Subscriptions per bare JID, counted once when first needed. */
  let perBare: Map<string, number> | undefined;
  const applied: [string, boolean][] = [];
  const perJid = limits.maxSubscriptionsPerJid;
  for (const [jid, on] of changes) {
    const has = jid in subscriptions;
    if (on === has) continue;
    const bare = bareOf(jid);
    if (on) {
      if (jid.length > MAX_SUBSCRIPTION_JID) {
        return stop(pubsubError("modify", "not-acceptable", undefined, "JID too long"));
      }
      const perNode = limits.maxSubscriptionsPerNode;
      if (perNode !== undefined && count >= perNode) {
        return stop(pubsubError("cancel", "policy-violation", "too-many-subscriptions"));
      }
      if (count >= MAX_SUBSCRIPTIONS_PER_NODE) {
        return stop(pubsubError("wait", "resource-constraint"));
      }
      if (perJid !== undefined) {
        perBare ??= countPerBare(subscriptions);
        // One entity's resources must not turn each publish into a flood (XEP-0060 §6.1.3.9).
        if ((perBare.get(bare) ?? 0) >= perJid) {
          return stop(pubsubError("wait", "policy-violation", "too-many-subscriptions"));
        }
        perBare.set(bare, (perBare.get(bare) ?? 0) + 1);
      }
      subscriptions[jid] = "subscribed";
      count++;
    } else {
      delete subscriptions[jid];
      count--;
      perBare?.set(bare, (perBare.get(bare) ?? 1) - 1);
    }
    applied.push([jid, on]);
  }
  return { subscriptions, applied };

  function stop(refusal: StanzaError): SubscriptionOutcome {
    return { subscriptions, applied, refusal };
  }
}

function countPerBare(subscriptions: Record<string, "subscribed">): Map<string, number> {
  const out = new Map<string, number>();
  for (const jid of Object.keys(subscriptions)) {
    const bare = bareOf(jid);
    out.set(bare, (out.get(bare) ?? 0) + 1);
  }
  return out;
}
