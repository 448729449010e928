/**
 * Service administration (XEP-0133), the subset Parley offers: add user,
 * delete user, change user password, number of online users, announce to
 * online users. Only the host's admins (`admins` and `hosts[].admins`)
 * see or run them. Forms follow XEP-0133's examples and its registered
 * field vars under FORM_TYPE `http://jabber.org/protocol/admin`.
 */
import { el } from "../../xml/element.ts";
import { type Jid, parseJid } from "../../jid.ts";
import { saslPrep } from "../../auth/scram.ts";
import { StanzaError } from "../../core/errors.ts";
import type { ModuleApi } from "../../core/module_api.ts";
import type { Session } from "../../core/session.ts";
import { form, type FormField, formValue, type FormValues } from "../../util/dataforms.ts";
import type { AdhocCommand, CommandContext, Stage } from "./types.ts";
import { isHostAdmin } from "../../core/host_admins.ts";

const NS_ADMIN = "http://jabber.org/protocol/admin";

export function adminCommands(api: ModuleApi): AdhocCommand[] {
  for (const a of api.host.config.admins) {
    if (!parseJid(a)) api.log.warn("ignoring admin {jid}: not a valid JID", { jid: a });
  }
  const allowed = (ctx: CommandContext) => isHostAdmin(api, ctx.requester.bare);

  /** One form to fill, then done: every command here is that shape but one. */
  const oneForm = (
    action: string,
    name: string,
    title: string,
    fields: FormField[],
    submit: (values: FormValues, ctx: CommandContext) => Promise<Stage> | Stage,
  ): AdhocCommand => ({
    node: `${NS_ADMIN}#${action}`,
    name,
    allowed,
    start: () => ({
      status: "executing",
      form: form("form", fields, {
        title,
        instructions: `Fill out this form to ${name.toLowerCase()}.`,
        formType: NS_ADMIN,
      }),
    }),
    submit: (ctx, values) => submit(values, ctx),
  });

  /** A local account named by a bare JID of this host; StanzaError otherwise. */
  const account = (value: string | undefined): string => {
    const jid = value === undefined ? undefined : parseJid(value.trim());
    if (!jid || jid.local === undefined || jid.resource !== undefined) {
      throw new StanzaError("modify", "jid-malformed", `Not an account JID: ${value ?? "(none)"}`);
    }
    if (jid.domain !== api.domain) {
      throw new StanzaError("modify", "not-acceptable", `Not an account of ${api.domain}`);
    }
    return jid.local;
  };

  const password = (values: FormValues, verify: boolean): string => {
    const pw = formValue(values, "password");
    if (!pw) throw new StanzaError("modify", "not-acceptable", "A password is required");
    if (saslPrep(pw, false) === undefined) {
      throw new StanzaError("modify", "not-acceptable", "The password holds prohibited characters");
    }
    const again = formValue(values, "password-verify");
    if (verify && again !== undefined && again !== pw) {
      throw new StanzaError("modify", "not-acceptable", "The passwords do not match");
    }
    return pw;
  };

  const done = (text: string): Stage => ({ status: "completed", note: { type: "info", text } });

  return [
    oneForm("add-user", "Add User", "Adding a User", [
      {
        var: "accountjid",
        type: "jid-single",
        label: "The Jabber ID for the account to be added",
        required: true,
      },
      {
        var: "password",
        type: "text-private",
        label: "The password for this account",
        required: true,
      },
      { var: "password-verify", type: "text-private", label: "Retype password" },
    ], async (values) => {
      const user = account(formValue(values, "accountjid"));
      const pw = password(values, true);
      const result = await api.createAccount(user, pw);
      if (!result.created && result.reason === "exists") {
        throw new StanzaError("cancel", "conflict", `${user}@${api.domain} already exists`);
      }
      if (!result.created) {
        // The operator's override is `parley adduser --force`: recreating a
        // deleted name is rare and deliberate, not a form field to tick.
        const until = new Date(result.until).toISOString();
        throw new StanzaError(
          "cancel",
          "conflict",
          `${user}@${api.domain} was deleted; the name is reserved until ${until} ` +
            `("parley adduser --force" overrides)`,
        );
      }
      api.log.info("{user}@{host} added by an admin", { user, host: api.domain });
      return done(`Account ${user}@${api.domain} created.`);
    }),

    oneForm("delete-user", "Delete User", "Deleting a User", [
      {
        var: "accountjids",
        type: "jid-multi",
        label: "The Jabber ID(s) to delete",
        required: true,
      },
    ], async (values, ctx) => {
      const users = (values.get("accountjids") ?? []).filter((v) => v.trim()).map(account);
      if (users.length === 0) throw new StanzaError("modify", "not-acceptable", "No account given");
      const deleted: string[] = [];
      const missing: string[] = [];
      let self = false;
      for (const user of new Set(users)) {
        if (!(await api.auth.userExists(api.domain, user))) missing.push(user);
        else if (isRequester(ctx.requester, user, api.domain)) self = true;
        else {
          await api.deleteAccount(user);
          deleted.push(user);
        }
      }
      if (self) deleted.push(ctx.requester.local!);
      api.log.info("accounts deleted by {admin}: {users}", {
        admin: ctx.requester.bare,
        users: deleted.join(", "),
      });
      const text = (deleted.length ? `Deleted: ${deleted.join(", ")}.` : "Nothing deleted.") +
        (missing.length ? ` No such account: ${missing.join(", ")}.` : "");
      return {
        status: "completed",
        note: { type: missing.length ? "warn" : "info", text },
        // The requester's own account goes last, after the reply reached it.
        after: self ? () => api.deleteAccount(ctx.requester.local!) : undefined,
      };
    }),

    oneForm("change-user-password", "Change User Password", "Changing a User Password", [
      {
        var: "accountjid",
        type: "jid-single",
        label: "The Jabber ID for this account",
        required: true,
      },
      {
        var: "password",
        type: "text-private",
        label: "The password for this account",
        required: true,
      },
    ], async (values) => {
      const user = account(formValue(values, "accountjid"));
      const pw = password(values, false);
      if (!(await api.auth.setPassword(api.domain, user, pw))) {
        throw new StanzaError("cancel", "item-not-found", `No account ${user}@${api.domain}`);
      }
      api.log.info("{user}@{host}: password changed by an admin", { user, host: api.domain });
      return done(`Password of ${user}@${api.domain} changed.`);
    }),

    {
      node: `${NS_ADMIN}#get-online-users-num`,
      name: "Get Number of Online Users",
      allowed,
      start: () => ({
        status: "completed",
        form: form("result", [
          {
            var: "onlineusersnum",
            type: "text-single",
            label: "The number of online users",
            values: [String(onlineUsers(api).size)],
          },
        ], { formType: NS_ADMIN }),
      }),
      submit: () => {
        throw new StanzaError("modify", "bad-request", "This command has one stage");
      },
    },

    oneForm("announce", "Send Announcement to Online Users", "Making an Announcement", [
      { var: "subject", type: "text-single", label: "Subject" },
      { var: "announcement", type: "text-multi", label: "Announcement", required: true },
    ], (values) => {
      // XEP-0133 names the field "announcement"; some clients send "body" (ejabberd's name).
      const lines = values.get("announcement") ?? values.get("body") ?? [];
      const body = lines.join("\n");
      if (body.trim() === "") {
        throw new StanzaError("modify", "not-acceptable", "Nothing to announce");
      }
      const subject = formValue(values, "subject")?.trim();
      let sent = 0;
      for (const session of onlineSessions(api)) {
        api.send(el(
          "message",
          { type: "headline", from: api.domain, to: session.fullJid },
          subject ? el("subject", {}, subject) : undefined,
          el("body", {}, body),
        ));
        sent++;
      }
      return done(`Announcement sent to ${sent} session${sent === 1 ? "" : "s"}.`);
    }),
  ];
}

function isRequester(requester: Jid, user: string, domain: string): boolean {
  return requester.domain === domain && requester.local === user;
}

/** Every bound session of this host. */
function onlineSessions(api: ModuleApi): Session[] {
  return api.sessions.bound(api.domain).filter((s) => !s.destroyed);
}

/** Accounts of this host with at least one bound session. */
function onlineUsers(api: ModuleApi): Set<string> {
  return new Set(onlineSessions(api).map((s) => s.username!));
}
