/**
 * Registering an account with an invite, for in-band registration
 * (XEP-0445) and the landing page alike: one use taken, the account
 * created, and for a user's invite the inviter and invitee subscribed to
 * each other (XEP-0379 §4: both roster items with subscription "both",
 * pushed to the inviter's online resources).
 */
import type { ModuleApi } from "../../core/module_api.ts";
import { parseJid } from "../../jid.ts";
// The roster store is the roster module's shared per-host store (it also
// backs presence); writing through it keeps online copies and pushes right.
import { rosterStore } from "../roster/roster_store.ts";
import type { SubState } from "../roster/subscriptions.ts";
import type { InviteStore } from "./store.ts";

export type Redemption =
  | { ok: true; jid: string }
  | { ok: false; reason: "invalid" | "username" | "conflict" | "reserved" };

export async function redeem(
  api: ModuleApi,
  store: InviteStore,
  token: string,
  username: string,
  password: string,
): Promise<Redemption> {
  const peek = await store.valid(token);
  if (!peek) return { ok: false, reason: "invalid" };
  // A user's invite whose account is gone (removed while the server was
  // down, so no event took its invites): nobody is left to vouch for it,
  // and a roster written now would wait for the next owner of the name.
  const from = parseJid(peek.inviter);
  if (
    from?.local !== undefined && from.domain === api.domain &&
    !await api.auth.userExists(api.domain, from.local)
  ) {
    return { ok: false, reason: "invalid" };
  }
  if (peek.username !== undefined && peek.username !== username) {
    return { ok: false, reason: "username" };
  }
  const invite = await store.take(token);
  if (!invite) return { ok: false, reason: "invalid" };
  let created = false;
  try {
    const result = await api.createAccount(username, password);
    created = result.created;
    if (!result.created) {
      return { ok: false, reason: result.reason === "reserved" ? "reserved" : "conflict" };
    }
  } finally {
    if (!created) await store.giveBack(invite);
  }
  const jid = `${username}@${api.domain}`;
  api.log.info("{jid} registered with an invite from {inviter}", { jid, inviter: invite.inviter });
  const inviter = parseJid(invite.inviter);
  if (invite.roster && inviter?.local !== undefined && inviter.domain === api.domain) {
    await subscribeBothWays(api, inviter.local, username);
  }
  return { ok: true, jid };
}

async function subscribeBothWays(api: ModuleApi, inviter: string, invitee: string): Promise<void> {
  const rosters = rosterStore(api);
  const both: SubState = {
    subscription: "both",
    pendingOut: false,
    pendingIn: false,
    preApproved: false,
  };
  for (const [user, contact] of [[inviter, invitee], [invitee, inviter]]) {
    await rosters.run(
      user,
      (roster) => rosters.commit(user, roster, `${contact}@${api.domain}`, { ...both }),
    );
  }
}
