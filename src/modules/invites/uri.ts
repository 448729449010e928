/**
 * The two forms of an invitation: the `xmpp:` URI a client opens
 * (XEP-0401 §5 / XEP-0379), and the HTTPS landing page for people without
 * a client yet.
 */
import type { Invite } from "./store.ts";

/**
 * A bare JID as the path of an `xmpp:` URI (RFC 5122 §2.8): the localpart
 * percent-encoded. Localparts may hold "?", "#", "%" and the like, which
 * would otherwise end the path early and let a user's chosen name pass
 * for another address or action in the invitee's client. Encoding more
 * than RFC 5122 demands (";", "=", …) is allowed and keeps it simple.
 */
export function uriPath(bareJid: string): string {
  const at = bareJid.lastIndexOf("@");
  if (at < 0) return bareJid;
  return encodeURIComponent(bareJid.slice(0, at)) + bareJid.slice(at);
}

/**
 * An admin's invite registers on the domain; a user's adds the inviter
 * to the roster and offers registration (`ibr=y`).
 */
export function inviteUri(domain: string, invite: Invite): string {
  const token = encodeURIComponent(invite.token);
  if (invite.inviter.includes("@") && invite.roster) {
    return `xmpp:${uriPath(invite.inviter)}?roster;preauth=${token};ibr=y`;
  }
  return `xmpp:${domain}?register;preauth=${token}`;
}

/** `invites.baseUrl`, else https://<domain>[:port] (the HTTPS listener), + /invite/<token>. */
export function landingUrl(
  domain: string,
  invite: Invite,
  baseUrl: string | undefined,
  httpsPort: number,
): string {
  const base = baseUrl?.replace(/\/+$/, "") ??
    `https://${domain}${httpsPort === 443 ? "" : `:${httpsPort}`}`;
  return `${base}/invite/${encodeURIComponent(invite.token)}`;
}
