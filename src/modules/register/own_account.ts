/**
 * What an authenticated user does with `jabber:iq:register` (XEP-0077):
 * read the registration (§3.1 `<registered/>`), change the password
 * (§3.3), or cancel the account (§3.2). Always available, whether or not
 * new accounts may register in-band.
 */
import { el, type Element } from "../../xml/element.ts";
import { parseJid } from "../../jid.ts";
import { StanzaError } from "../../core/errors.ts";
import type { ModuleApi } from "../../core/module_api.ts";
import type { StanzaEvent } from "../../core/router.ts";
import { checkPassword, NS_REGISTER, submittedFields } from "./fields.ts";

export function setupOwnAccount(api: ModuleApi): void {
  for (const toType of ["self", "host"]) {
    api.hook(`iq-get/${toType}/${NS_REGISTER}:query`, (ev: StanzaEvent) => {
      const username = ownUsername(api, ev);
      if (username === undefined) return true;
      api.replyResult(
        ev,
        el("query", { xmlns: NS_REGISTER }, el("registered"), el("username", {}, username)),
      );
      return true;
    });
    api.hook(`iq-set/${toType}/${NS_REGISTER}:query`, async (ev: StanzaEvent) => {
      const username = ownUsername(api, ev);
      if (username === undefined) return true;
      const query = ev.stanza.getChild("query", NS_REGISTER)!;
      if (query.getChild("remove")) await remove(ev, query, username);
      else await changePassword(ev, query, username);
      return true;
    });
  }

  async function remove(ev: StanzaEvent, query: Element, username: string): Promise<void> {
    if (query.getChildren().length !== 1) {
      // §3.2: <remove/> must be the only child.
      return api.replyError(ev, new StanzaError("modify", "bad-request"));
    }
    // §3.2: the result first, then every session of the account ends with
    // not-authorized; the stream writes in order, so the client sees both.
    api.replyResult(ev);
    api.log.info("{user}@{host} removed the account in-band", { user: username, host: api.domain });
    await api.deleteAccount(username);
  }

  async function changePassword(ev: StanzaEvent, query: Element, username: string): Promise<void> {
    const fields = submittedFields(query);
    if (fields.username === undefined) {
      return api.replyError(
        ev,
        new StanzaError("modify", "bad-request", "The username is missing"),
      );
    }
    if (!namesUser(fields.username, username, api.domain)) {
      return api.replyError(
        ev,
        new StanzaError("modify", "not-authorized", "You can only change your own password"),
      );
    }
    const password = checkPassword(fields.password);
    if (password instanceof StanzaError) return api.replyError(ev, password);
    if (!(await api.auth.setPassword(api.domain, username, password))) {
      return api.replyError(ev, new StanzaError("cancel", "registration-required"));
    }
    api.log.info("{user}@{host} changed the password in-band", {
      user: username,
      host: api.domain,
    });
    api.replyResult(ev);
  }
}

/**
 * The requester's username when it is an account of this host; otherwise
 * answers the iq (a user of another hosted domain has no registration
 * here) and returns undefined.
 */
function ownUsername(api: ModuleApi, ev: StanzaEvent): string | undefined {
  const origin = ev.origin;
  if (origin?.username !== undefined && origin.host === api.domain) return origin.username;
  api.replyError(ev, new StanzaError("auth", "registration-required"));
  return undefined;
}

/** `<username/>` holds the localpart; the form variant may hold the bare JID. */
function namesUser(given: string, username: string, domain: string): boolean {
  const value = given.trim();
  const jid = parseJid(value.includes("@") ? value : value + "@" + domain);
  return jid !== undefined && jid.resource === undefined && jid.domain === domain &&
    jid.local === username;
}
