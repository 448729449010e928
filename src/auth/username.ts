/**
 * Turning a SASL authentication identity into the account's localpart, and
 * checking an authorization identity against it. Shared by every mechanism
 * so SCRAM and PLAIN agree on who a login names.
 */
import { parseJid, prepDomain, prepLocal } from "../jid.ts";

/** The prepared localpart for a (SASLprep'd) authcid, or undefined when it cannot be one. */
export function prepareUsername(authcid: string): string | undefined {
  return prepLocal(authcid);
}

/**
 * An authzid is accepted only when empty or the user's own bare JID: this
 * server does not let one account act as another (RFC 6120 §6.3.8).
 */
export function isOwnAuthzid(authzid: string, username: string, host: string): boolean {
  if (authzid === "") return true;
  const jid = parseJid(authzid);
  if (!jid || jid.resource !== undefined) return false;
  return jid.local === username && jid.domain === (prepDomain(host) ?? host);
}
