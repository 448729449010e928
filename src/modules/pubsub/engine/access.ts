/**
 * Who may see a node's items and notifications (XEP-0060 §4.5 access
 * models). The service supplies the relations (presence subscription,
 * roster groups) of the node's owner; the engine only decides.
 */
import type { StanzaError } from "../../../core/errors.ts";
import type { Affiliation, StoredNode } from "./types.ts";
import { pubsubError } from "./errors.ts";

/** What the owning entity's roster says about a requester (bare JIDs). */
export interface Relations {
  /** True when `jid` has a presence subscription to the owner (from/both). */
  subscribedToPresence(jid: string): Promise<boolean>;
  /** The owner's roster groups `jid` is in. */
  rosterGroups(jid: string): Promise<string[]>;
}

export function affiliationOf(node: StoredNode, bare: string): Affiliation {
  return node.affiliations[bare] ?? "none";
}

/** Undefined when `bare` may read `node`, else the error to answer with. */
export async function accessError(
  node: StoredNode,
  bare: string,
  relations: Relations,
): Promise<StanzaError | undefined> {
  const aff = affiliationOf(node, bare);
  if (aff === "outcast") return pubsubError("auth", "forbidden");
  if (aff === "owner" || aff === "publisher" || aff === "member") return undefined;
  switch (node.config.access_model) {
    case "open":
      return undefined;
    case "presence":
      return (await relations.subscribedToPresence(bare))
        ? undefined
        : pubsubError("auth", "not-authorized", "presence-subscription-required");
    case "roster": {
      const groups = await relations.rosterGroups(bare);
      const allowed = node.config.roster_groups_allowed;
      return groups.some((g) => allowed.includes(g))
        ? undefined
        : pubsubError("auth", "not-authorized", "not-in-roster-group");
    }
    case "whitelist":
    case "authorize":
      return pubsubError("cancel", "not-allowed", "closed-node");
  }
}

/** True when `bare` may publish to `node` under its publish model. */
export function mayPublish(node: StoredNode, bare: string): boolean {
  const aff = affiliationOf(node, bare);
  if (aff === "owner" || aff === "publisher" || aff === "publish-only") return true;
  if (aff === "outcast") return false;
  if (node.config.publish_model === "open") return true;
  return node.config.publish_model === "subscribers" && subscribed(node, bare);
}

/** True when `bare` or one of its resources holds a subscription (they are kept by full JID too). */
function subscribed(node: StoredNode, bare: string): boolean {
  // Own keys only: a JID may be called "constructor".
  return Object.hasOwn(node.subscriptions, bare) || subscriptionsHeldBy(node, bare).length > 0;
}

/** The JIDs of `node`'s subscriptions held by `bare`: itself and its resources. */
export function subscriptionsHeldBy(node: StoredNode, bare: string): string[] {
  const prefix = bare + "/";
  return Object.keys(node.subscriptions).filter((jid) => jid === bare || jid.startsWith(prefix));
}
