/**
 * The presence subscription state machine of RFC 6121 §3 and Appendix A,
 * as pure functions over one contact's state in one user's roster. The
 * handlers apply the result: store the new state, push roster changes,
 * route or deliver the stanza, and send the automatic replies.
 *
 * "Outbound" is a subscription stanza the user sends to the contact (the
 * user's server processes it, then routes it); "inbound" is one that
 * arrives for the user from the contact. Keeping the halves apart lets
 * federation put a remote server between them.
 */

import type { SubscriptionState } from "../../core/subscription.ts";

/** The same states other modules ask for through `roster/get-subscription`. */
export type Subscription = SubscriptionState;
export type SubscriptionType = "subscribe" | "subscribed" | "unsubscribe" | "unsubscribed";

export const SUBSCRIPTION_TYPES: ReadonlySet<string> = new Set([
  "subscribe",
  "subscribed",
  "unsubscribe",
  "unsubscribed",
]);

export interface SubState {
  subscription: Subscription;
  /** The user asked to subscribe and awaits an answer (`ask='subscribe'`). */
  pendingOut: boolean;
  /** The contact asked to subscribe and awaits the user's answer. */
  pendingIn: boolean;
  /** The user approved a request before it came (§3.4, `approved='true'`). */
  preApproved: boolean;
}

export const NO_SUBSCRIPTION: SubState = Object.freeze({
  subscription: "none",
  pendingOut: false,
  pendingIn: false,
  preApproved: false,
});

export interface OutboundResult {
  state: SubState;
  /** Route the stanza to the contact. */
  route: boolean;
}

export interface InboundResult {
  state: SubState;
  /** Deliver the stanza to the user's resources. */
  deliver: boolean;
  /** Answer the contact with `subscribed` on the user's behalf (§3.1.3, §3.4). */
  autoReplySubscribed: boolean;
}

const hasTo = (s: Subscription) => s === "to" || s === "both";
const hasFrom = (s: Subscription) => s === "from" || s === "both";

function withTo(s: Subscription, on: boolean): Subscription {
  const from = hasFrom(s);
  return on ? (from ? "both" : "to") : (from ? "from" : "none");
}

function withFrom(s: Subscription, on: boolean): Subscription {
  const to = hasTo(s);
  return on ? (to ? "both" : "from") : (to ? "to" : "none");
}

/** RFC 6121 Appendix A.2: the user sends a subscription stanza to the contact. */
export function outbound(type: SubscriptionType, s: SubState): OutboundResult {
  switch (type) {
    case "subscribe":
      // A.2.1: always routed (the contact's server answers for an existing
      // subscription); pending-out only when not yet subscribed.
      return {
        state: hasTo(s.subscription) ? s : { ...s, pendingOut: true },
        route: true,
      };
    case "unsubscribe":
      // A.2.2 / §3.3.2: routed so the contact's side is cleaned up too.
      return {
        state: { ...s, subscription: withTo(s.subscription, false), pendingOut: false },
        route: true,
      };
    case "subscribed":
      // A.2.3: approves a pending request; otherwise, when the contact is not
      // yet subscribed, it is a pre-approval (§3.4) and nothing is routed.
      if (s.pendingIn) {
        return {
          state: {
            ...s,
            subscription: withFrom(s.subscription, true),
            pendingIn: false,
            preApproved: false,
          },
          route: true,
        };
      }
      if (hasFrom(s.subscription)) return { state: s, route: false };
      return { state: { ...s, preApproved: true }, route: false };
    case "unsubscribed":
      // A.2.4: denies a pending request or cancels the contact's
      // subscription; otherwise it only withdraws a pre-approval.
      if (s.pendingIn || hasFrom(s.subscription)) {
        return {
          state: {
            ...s,
            subscription: withFrom(s.subscription, false),
            pendingIn: false,
            preApproved: false,
          },
          route: true,
        };
      }
      return { state: s.preApproved ? { ...s, preApproved: false } : s, route: false };
  }
}

/** RFC 6121 Appendix A.3: a subscription stanza from the contact arrives for the user. */
export function inbound(type: SubscriptionType, s: SubState): InboundResult {
  const quiet = { state: s, deliver: false, autoReplySubscribed: false };
  switch (type) {
    case "subscribe":
      // A.3.1 / §3.1.3: already subscribed → answer for the user.
      if (hasFrom(s.subscription)) return { ...quiet, autoReplySubscribed: true };
      // A.3.1: a request already pending is not delivered again, and the
      // one stored first is kept (it is re-delivered at each login anyway).
      if (s.pendingIn) return quiet;
      if (s.preApproved) {
        return {
          state: {
            ...s,
            subscription: withFrom(s.subscription, true),
            preApproved: false,
            pendingIn: false,
          },
          deliver: false,
          autoReplySubscribed: true,
        };
      }
      return { state: { ...s, pendingIn: true }, deliver: true, autoReplySubscribed: false };
    case "unsubscribe":
      // A.3.2: the contact withdraws its request or ends its subscription.
      if (!s.pendingIn && !hasFrom(s.subscription)) return quiet;
      return {
        state: { ...s, subscription: withFrom(s.subscription, false), pendingIn: false },
        deliver: true,
        autoReplySubscribed: false,
      };
    case "subscribed":
      // A.3.3: only meaningful as the answer to our pending request.
      if (!s.pendingOut) return quiet;
      return {
        state: { ...s, subscription: withTo(s.subscription, true), pendingOut: false },
        deliver: true,
        autoReplySubscribed: false,
      };
    case "unsubscribed":
      // A.3.4: the contact denies our request or cancels our subscription.
      if (!s.pendingOut && !hasTo(s.subscription)) return quiet;
      return {
        state: { ...s, subscription: withTo(s.subscription, false), pendingOut: false },
        deliver: true,
        autoReplySubscribed: false,
      };
  }
}

/** The user receives the contact's presence. */
export const receivesPresence = hasTo;
/** The contact receives the user's presence. */
export const sendsPresence = hasFrom;
