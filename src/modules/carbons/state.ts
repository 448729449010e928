/**
 * Whether a resource asked for carbons: one flag per session in
 * `session.ext`. It lives as long as the session, so a session resumed
 * with stream management (XEP-0198) keeps it, as XEP-0280 ties carbons to
 * the session, not to one connection.
 */
import type { Session } from "../../core/session.ts";

/** The key in `session.ext`. */
export const CARBONS = "carbons";

export function carbonsEnabled(session: Session): boolean {
  return session.ext.get(CARBONS) === true;
}

export function setCarbons(session: Session, on: boolean): void {
  if (on) session.ext.set(CARBONS, true);
  else session.ext.delete(CARBONS);
}

/**
 * The user's other carbons-enabled sessions that are still there: the
 * resources a copy goes to, before the caller removes those that get
 * the original.
 */
export function enabledSessions(sessions: readonly Session[], except?: Session): Session[] {
  const out: Session[] = [];
  for (const s of sessions) {
    if (s !== except && !s.destroyed && s.fullJid !== undefined && carbonsEnabled(s)) out.push(s);
  }
  return out;
}
