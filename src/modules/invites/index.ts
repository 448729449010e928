/**
 * Invitations (XEP-0401 easy onboarding): invites created by ad-hoc
 * command (and by `parley invite create`), redeemed by pre-authenticated
 * in-band registration (XEP-0445) or on the landing page
 * (`/invite/<token>`), with the inviter and invitee subscribed both ways
 * (XEP-0379). Registration without a token stays as `registration.*` says.
 */
import type { ParleyModule } from "../../core/module_api.ts";
import { StanzaError } from "../../core/errors.ts";
import { checkPassword, checkUsername } from "../register/fields.ts";
import { INVITES_STORE, InviteStore } from "./store.ts";
import { setupPreauthIbr } from "./ibr.ts";
import { inviteCommands } from "./adhoc.ts";
import { redeem } from "./redeem.ts";
import { INVITE_HTTP, type InviteHttp } from "./route.ts";
import { inviteUri } from "./uri.ts";

/** How often expired and used-up invites are swept from storage (also once at start). */
const SWEEP_INTERVAL_MS = 3_600_000;

export const invitesModule: ParleyModule = {
  name: "invites",
  setup(api) {
    const store = new InviteStore(api.map(INVITES_STORE));
    // Creating and looking up invites only meet the ones they touch; the
    // sweep removes the rest, a page at a time. Its first run also indexes
    // invites stored before the per-inviter index.
    const sweep = async () => {
      const removed = await store.sweep();
      if (removed > 0) api.log.info("removed {removed} expired or used invites", { removed });
    };
    api.setInterval(sweep, SWEEP_INTERVAL_MS);
    api.setTimeout(sweep, 0);
    // A user's invites go with the account (redeem also checks, for
    // accounts removed while the server was not running).
    api.hook("user-deleted", async ({ username }) => {
      const removed = await store.removeByInviter(`${username}@${api.domain}`);
      if (removed > 0) api.log.info("removed {removed} invites of a deleted account", { removed });
    });
    setupPreauthIbr(api, store);
    for (const c of inviteCommands(api, store)) api.provide("adhoc-command", c);
    const http: InviteHttp = {
      async view(token) {
        const invite = await store.valid(token);
        if (!invite) return undefined;
        return {
          domain: api.domain,
          inviter: invite.roster && invite.inviter.includes("@") ? invite.inviter : undefined,
          uri: inviteUri(api.domain, invite),
          token,
          expires: invite.expires,
          username: invite.username,
        };
      },
      register(token, rawUser, rawPassword) {
        const username = checkUsername(rawUser);
        if (username instanceof StanzaError) {
          return Promise.resolve(username.text ?? "Bad username");
        }
        const password = checkPassword(rawPassword);
        if (password instanceof StanzaError) {
          return Promise.resolve(password.text ?? "Bad password");
        }
        return redeem(api, store, token, username, password);
      },
    };
    api.provide(INVITE_HTTP, http);
  },
};
