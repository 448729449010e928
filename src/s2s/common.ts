/** Pieces shared by the incoming and outgoing server-to-server streams. */

export const NS_DIALBACK = "jabber:server:dialback";
/** XEP-0220 §2.1: the stream feature that says dialback (with errors) is offered. */
export const NS_DIALBACK_FEATURE = "urn:xmpp:features:dialback";
/** XEP-0288: the feature a receiving server offers, and the element that takes it up. */
export const NS_BIDI_FEATURE = "urn:xmpp:features:bidi";
export const NS_BIDI = "urn:xmpp:bidi";

/**
 * RFC 6120 §4.7.5: the response header carries the lower of the peer's
 * version and ours (1.0); a peer that sent none is taken as 0.9 and gets
 * none back (null). An unreadable version counts as none.
 */
export function replyVersion(peer: string | undefined): string | null {
  const m = peer === undefined ? null : /^(\d+)\.(\d+)$/.exec(peer);
  if (!m) return null;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return major > 1 || (major === 1 && minor > 0) ? "1.0" : `${major}.${minor}`;
}

/** The answer to a dialback key check (XEP-0220): anything but valid or invalid is error. */
export type DialbackVerdict = "valid" | "invalid" | "error";
