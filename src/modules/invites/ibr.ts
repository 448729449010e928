/**
 * Pre-authenticated in-band registration (XEP-0445). Before
 * authentication a client sends `<preauth xmlns='urn:xmpp:pars:0'
 * token='…'/>` in an iq set; once the token is accepted, the stream may
 * register one account with `jabber:iq:register` even when
 * `registration.enabled` is false. Streams without a token are left to
 * the register module (closed registration stays closed).
 */
import { el, type Element } from "../../xml/element.ts";
import { StanzaError } from "../../core/errors.ts";
import type { ModuleApi } from "../../core/module_api.ts";
import type { Session } from "../../core/session.ts";
import { FailureThrottle } from "../../auth/throttle.ts";
import { addressKey } from "../../net/address_key.ts";
import { replyUnbound } from "../register/unbound_reply.ts";
import {
  checkPassword,
  checkUsername,
  NS_REGISTER,
  registrationFields,
  submittedFields,
} from "../register/fields.ts";
import type { InviteStore } from "./store.ts";
import { redeem } from "./redeem.ts";

export const NS_PARS = "urn:xmpp:pars:0";
export const NS_INVITE = "urn:xmpp:invite";
/** session.ext key: the accepted token. */
const PREAUTH = "invites/preauth";

export function setupPreauthIbr(api: ModuleApi, store: InviteStore): void {
  const settings = api.config.invites;
  // Wrong tokens are throttled per address like failed logins: a token is
  // the only secret guarding registration here.
  const failures = new FailureThrottle(settings.maxAttemptsPerIp, settings.windowSeconds);

  api.addStreamFeature((session) =>
    session.type === "c2s_unauthed" ? el("register", { xmlns: NS_INVITE }) : undefined
  );

  // Above the register module, which answers every register iq when registration is closed.
  api.hook("stream-element", ({ session, element }) => {
    if (session.type !== "c2s_unauthed" || element.name !== "iq") return false;
    if (element.attrs.xmlns !== undefined) return false;
    if (!session.transport?.secure && !api.config.c2s.allowUnencrypted) return false;
    const to = element.attrs.to;
    if (to !== undefined && to.toLowerCase() !== api.domain) return false;
    const preauth = element.getChild("preauth", NS_PARS);
    if (preauth && element.attrs.type === "set") {
      return acceptToken(session, element, preauth.attrs.token ?? "").then(() => true);
    }
    const token = session.ext.get(PREAUTH) as string | undefined;
    const query = element.getChild("query", NS_REGISTER);
    if (!query || token === undefined) return false;
    if (element.attrs.type === "get") {
      replyUnbound(session, element, registrationFields());
      return true;
    }
    if (element.attrs.type !== "set" || query.getChild("remove")) return false;
    return register(session, element, query, token).then(
      () => true,
      (err) => {
        api.log.error("invited registration failed: {err}", { err });
        replyUnbound(session, element, new StanzaError("wait", "internal-server-error"));
        return true;
      },
    );
  }, 10);

  async function acceptToken(session: Session, iq: Element, token: string): Promise<void> {
    const ip = session.transport?.remoteAddress ?? "";
    // Keyed like the login throttle: an IPv6 /64 is one client.
    const client = addressKey(ip);
    if (failures.isBlocked(client)) {
      return replyUnbound(
        session,
        iq,
        new StanzaError("wait", "policy-violation", "Too many attempts"),
      );
    }
    const invite = await store.valid(token);
    if (session.destroyed) return;
    if (!invite) {
      failures.fail(client);
      api.log.info("{ip}: an unknown or expired invite token was refused", { ip });
      return replyUnbound(
        session,
        iq,
        new StanzaError("cancel", "item-not-found", "The invitation is unknown or expired"),
      );
    }
    session.ext.set(PREAUTH, token);
    replyUnbound(session, iq);
  }

  async function register(
    session: Session,
    iq: Element,
    query: Element,
    token: string,
  ): Promise<void> {
    const fields = submittedFields(query);
    const username = checkUsername(fields.username);
    if (username instanceof StanzaError) return replyUnbound(session, iq, username);
    const password = checkPassword(fields.password);
    if (password instanceof StanzaError) return replyUnbound(session, iq, password);
    const result = await redeem(api, store, token, username, password);
    if (session.destroyed) return;
    if (result.ok) {
      // One account per accepted token and stream.
      session.ext.delete(PREAUTH);
      return replyUnbound(session, iq);
    }
    const errors = {
      invalid: new StanzaError("cancel", "item-not-found", "The invitation is no longer valid"),
      username: new StanzaError("modify", "not-acceptable", "This invitation is for another name"),
      conflict: new StanzaError("cancel", "conflict", "That username is taken"),
      reserved: new StanzaError(
        "cancel",
        "conflict",
        "That username belonged to a deleted account",
      ),
    };
    replyUnbound(session, iq, errors[result.reason]);
  }
}
