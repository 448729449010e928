/**
 * RFC 6121 Appendix A, row by row: the subscription state machine's
 * outbound (A.2) and inbound (A.3) tables, plus pre-approval (§3.4).
 */
import assert from "node:assert/strict";
import {
  inbound,
  NO_SUBSCRIPTION,
  outbound,
  type SubscriptionType,
  type SubState,
} from "../../src/modules/roster/subscriptions.ts";

type Name =
  | "None"
  | "None+PendingOut"
  | "None+PendingIn"
  | "None+PendingOut+In"
  | "To"
  | "To+PendingIn"
  | "From"
  | "From+PendingOut"
  | "Both";

const STATES: Record<Name, SubState> = {
  "None": NO_SUBSCRIPTION,
  "None+PendingOut": { ...NO_SUBSCRIPTION, pendingOut: true },
  "None+PendingIn": { ...NO_SUBSCRIPTION, pendingIn: true },
  "None+PendingOut+In": { ...NO_SUBSCRIPTION, pendingOut: true, pendingIn: true },
  "To": { ...NO_SUBSCRIPTION, subscription: "to" },
  "To+PendingIn": { ...NO_SUBSCRIPTION, subscription: "to", pendingIn: true },
  "From": { ...NO_SUBSCRIPTION, subscription: "from" },
  "From+PendingOut": { ...NO_SUBSCRIPTION, subscription: "from", pendingOut: true },
  "Both": { ...NO_SUBSCRIPTION, subscription: "both" },
};

function name(s: SubState): string {
  const base = s.subscription === "none" ? "None" : s.subscription[0].toUpperCase() +
    s.subscription.slice(1);
  const pend = s.pendingOut && s.pendingIn
    ? "+PendingOut+In"
    : s.pendingOut
    ? "+PendingOut"
    : s.pendingIn
    ? "+PendingIn"
    : "";
  return base + pend + (s.preApproved ? "+PreApproved" : "");
}

/** [state before, state after, routed/delivered] */
type Row = [Name, Name, boolean];

function checkOutbound(type: SubscriptionType, rows: Row[]) {
  for (const [before, after, route] of rows) {
    const r = outbound(type, STATES[before]);
    assert.equal(name(r.state), after, `outbound ${type} from ${before}`);
    assert.equal(r.route, route, `outbound ${type} from ${before}: routed`);
  }
}

function checkInbound(type: SubscriptionType, rows: Row[]) {
  for (const [before, after, deliver] of rows) {
    const r = inbound(type, STATES[before]);
    assert.equal(name(r.state), after, `inbound ${type} to ${before}`);
    assert.equal(r.deliver, deliver, `inbound ${type} to ${before}: delivered`);
  }
}

Deno.test("A.2.1 outbound subscribe", () => {
  checkOutbound("subscribe", [
    ["None", "None+PendingOut", true],
    ["None+PendingOut", "None+PendingOut", true],
    ["None+PendingIn", "None+PendingOut+In", true],
    ["None+PendingOut+In", "None+PendingOut+In", true],
    ["To", "To", true],
    ["To+PendingIn", "To+PendingIn", true],
    ["From", "From+PendingOut", true],
    ["From+PendingOut", "From+PendingOut", true],
    ["Both", "Both", true],
  ]);
});

Deno.test("A.2.2 outbound unsubscribe", () => {
  checkOutbound("unsubscribe", [
    ["None", "None", true],
    ["None+PendingOut", "None", true],
    ["None+PendingIn", "None+PendingIn", true],
    ["None+PendingOut+In", "None+PendingIn", true],
    ["To", "None", true],
    ["To+PendingIn", "None+PendingIn", true],
    ["From", "From", true],
    ["From+PendingOut", "From", true],
    ["Both", "From", true],
  ]);
});

Deno.test("A.2.3 outbound subscribed (approval), pre-approval otherwise", () => {
  checkOutbound("subscribed", [
    ["None+PendingIn", "From", true],
    ["None+PendingOut+In", "From+PendingOut", true],
    ["To+PendingIn", "Both", true],
    ["From", "From", false],
    ["From+PendingOut", "From+PendingOut", false],
    ["Both", "Both", false],
  ]);
  // §3.4: no request pending and the contact not subscribed: a pre-approval.
  for (const before of ["None", "None+PendingOut", "To"] as const) {
    const r = outbound("subscribed", STATES[before]);
    assert.equal(name(r.state), before + "+PreApproved");
    assert.equal(r.route, false);
  }
});

Deno.test("A.2.4 outbound unsubscribed", () => {
  checkOutbound("unsubscribed", [
    ["None", "None", false],
    ["None+PendingOut", "None+PendingOut", false],
    ["None+PendingIn", "None", true],
    ["None+PendingOut+In", "None+PendingOut", true],
    ["To", "To", false],
    ["To+PendingIn", "To", true],
    ["From", "None", true],
    ["From+PendingOut", "None+PendingOut", true],
    ["Both", "To", true],
  ]);
  // …and it withdraws a pre-approval.
  const r = outbound("unsubscribed", { ...NO_SUBSCRIPTION, preApproved: true });
  assert.equal(name(r.state), "None");
});

Deno.test("A.3.1 inbound subscribe", () => {
  checkInbound("subscribe", [
    ["None", "None+PendingIn", true],
    ["None+PendingOut", "None+PendingOut+In", true],
    ["None+PendingIn", "None+PendingIn", false],
    ["None+PendingOut+In", "None+PendingOut+In", false],
    ["To", "To+PendingIn", true],
    ["To+PendingIn", "To+PendingIn", false],
    ["From", "From", false],
    ["From+PendingOut", "From+PendingOut", false],
    ["Both", "Both", false],
  ]);
  // §3.1.3: already subscribed: the server answers for the user.
  for (const before of ["From", "From+PendingOut", "Both"] as const) {
    assert.equal(inbound("subscribe", STATES[before]).autoReplySubscribed, true);
  }
  assert.equal(inbound("subscribe", STATES.None).autoReplySubscribed, false);
});

Deno.test("§3.4 inbound subscribe after a pre-approval", () => {
  const none = inbound("subscribe", { ...NO_SUBSCRIPTION, preApproved: true });
  assert.equal(name(none.state), "From");
  assert.equal(none.deliver, false);
  assert.equal(none.autoReplySubscribed, true);
  const to = inbound("subscribe", { ...STATES.To, preApproved: true });
  assert.equal(name(to.state), "Both");
  const out = inbound("subscribe", { ...STATES["None+PendingOut"], preApproved: true });
  assert.equal(name(out.state), "From+PendingOut");
});

Deno.test("A.3.2 inbound unsubscribe", () => {
  checkInbound("unsubscribe", [
    ["None", "None", false],
    ["None+PendingOut", "None+PendingOut", false],
    ["None+PendingIn", "None", true],
    ["None+PendingOut+In", "None+PendingOut", true],
    ["To", "To", false],
    ["To+PendingIn", "To", true],
    ["From", "None", true],
    ["From+PendingOut", "None+PendingOut", true],
    ["Both", "To", true],
  ]);
});

Deno.test("A.3.3 inbound subscribed", () => {
  checkInbound("subscribed", [
    ["None", "None", false],
    ["None+PendingOut", "To", true],
    ["None+PendingIn", "None+PendingIn", false],
    ["None+PendingOut+In", "To+PendingIn", true],
    ["To", "To", false],
    ["To+PendingIn", "To+PendingIn", false],
    ["From", "From", false],
    ["From+PendingOut", "Both", true],
    ["Both", "Both", false],
  ]);
});

Deno.test("A.3.4 inbound unsubscribed", () => {
  checkInbound("unsubscribed", [
    ["None", "None", false],
    ["None+PendingOut", "None", true],
    ["None+PendingIn", "None+PendingIn", false],
    ["None+PendingOut+In", "None+PendingIn", true],
    ["To", "None", true],
    ["To+PendingIn", "None+PendingIn", true],
    ["From", "From", false],
    ["From+PendingOut", "From", true],
    ["Both", "From", true],
  ]);
});
