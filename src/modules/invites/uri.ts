/**
 * The two forms of an invitation: the `xmpp:` URI a client opens
 * (XEP-0401 §5 / XEP-0379), and the HTTPS landing page for people without
 * a client yet.
 */
import type { Invite } from "./store.ts";

/**
 * An admin's invite registers on the domain; a user's adds the inviter
 * to the roster and offers registration (`ibr=y`).
 */
export function inviteUri(domain: string, invite: Invite): string {
  const token = encodeURIComponent(invite.token);
  if (invite.inviter.includes("@") && invite.roster) {
    return `xmpp:${invite.inviter}?roster;preauth=${token};ibr=y`;
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
