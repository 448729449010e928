/**
 * Creating invites by ad-hoc command (XEP-0401 §5): `urn:xmpp:invite#invite`
 * for the host's users when `invites.allowUsers` (a roster invite from the
 * requester), and `urn:xmpp:invite#create-account` for admins (an account
 * invite, optionally for one username, optionally linking the admin's
 * roster). Both answer with the URI, the landing page and the expiry.
 */
import { StanzaError } from "../../core/errors.ts";
import type { ModuleApi } from "../../core/module_api.ts";
import type { AdhocCommand, CommandContext, Stage } from "../adhoc/types.ts";
import { isHostAdmin } from "../../core/host_admins.ts";
import { form, formBoolean, formValue } from "../../util/dataforms.ts";
import { checkUsername } from "../register/fields.ts";
import type { Invite, InviteStore } from "./store.ts";
import { inviteUri, landingUrl } from "./uri.ts";

const NS_INVITE_CMD = "urn:xmpp:invite";
/**
 * Usable invites one user (not an admin) may hold: each is stored until
 * used or expired (invites.ttlSeconds), so without it a loop of the
 * command fills storage.
 */
export const MAX_USER_INVITES = 50;

export function inviteCommands(api: ModuleApi, store: InviteStore): AdhocCommand[] {
  const settings = api.config.invites;
  const isAdmin = (ctx: CommandContext) => isHostAdmin(api, ctx.requester.bare);
  const isLocalUser = (ctx: CommandContext) =>
    ctx.requester.domain === api.domain && ctx.requester.local !== undefined;

  const result = (invite: Invite): Stage => ({
    status: "completed",
    form: form("result", [
      {
        var: "uri",
        type: "text-single",
        label: "Invite URI",
        values: [inviteUri(api.domain, invite)],
      },
      {
        var: "landing-url",
        type: "text-single",
        label: "Invite web page",
        values: [landingUrl(api.domain, invite, settings.baseUrl, api.config.listeners.https.port)],
      },
      {
        var: "expire",
        type: "text-single",
        label: "Valid until",
        values: [new Date(invite.expires).toISOString()],
      },
    ], { formType: NS_INVITE_CMD }),
  });

  const userInvite: AdhocCommand = {
    node: `${NS_INVITE_CMD}#invite`,
    name: "Invite",
    allowed: (ctx) => isAdmin(ctx) || (settings.allowUsers && isLocalUser(ctx)),
    start: async (ctx) => {
      if (!isLocalUser(ctx)) throw new StanzaError("cancel", "forbidden", "Not an account here");
      const invite = await store.createBounded({
        inviter: ctx.requester.bare,
        ttlMs: settings.ttlSeconds * 1000,
        uses: 1,
        roster: true,
      }, isAdmin(ctx) ? Infinity : MAX_USER_INVITES);
      if (!invite) {
        throw new StanzaError(
          "wait",
          "resource-constraint",
          `At most ${MAX_USER_INVITES} unused invites at once`,
        );
      }
      api.log.info("{jid} created an invite", { jid: ctx.requester.bare });
      return result(invite);
    },
    submit: () => {
      throw new StanzaError("modify", "bad-request", "Nothing to submit");
    },
  };

  const createAccount: AdhocCommand = {
    node: `${NS_INVITE_CMD}#create-account`,
    name: "Create new account invite",
    allowed: isAdmin,
    start: () => ({
      status: "executing",
      form: form("form", [
        { var: "username", type: "text-single", label: "Username (optional)" },
        {
          var: "roster-subscription",
          type: "boolean",
          label: "Add to your contact list",
          values: ["0"],
        },
        { var: "uses", type: "text-single", label: "Number of uses", values: ["1"] },
      ], { title: "Create an account invite", formType: NS_INVITE_CMD }),
    }),
    submit: async (ctx, values) => {
      const name = formValue(values, "username")?.trim();
      let username: string | undefined;
      if (name) {
        const checked = checkUsername(name);
        if (checked instanceof StanzaError) throw checked;
        username = checked;
      }
      const uses = Number(formValue(values, "uses") ?? "1");
      if (!Number.isInteger(uses) || uses < 1 || uses > settings.maxUses) {
        throw new StanzaError("modify", "bad-request", `Uses must be 1 to ${settings.maxUses}`);
      }
      const roster = formBoolean(values, "roster-subscription") === true && isLocalUser(ctx);
      const invite = await store.create({
        inviter: roster ? ctx.requester.bare : "admin",
        ttlMs: settings.ttlSeconds * 1000,
        uses: username ? 1 : uses,
        roster,
        username,
      });
      api.log.info("{jid} created an account invite", { jid: ctx.requester.bare });
      return result(invite);
    },
  };

  return [userInvite, createAccount];
}
