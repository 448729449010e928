/**
 * The archive and offline storage together (issue part 6; Prosody's
 * mod_mam + mod_offline do the same in spirit). A message stored offline
 * that the archive also kept carries the user's `<stanza-id/>`. When a
 * session queried the whole archive (no `with`, no `ids`) before its
 * initial presence (a client that syncs history at login), the offline replay that follows that presence
 * leaves out such messages archived before the query started — the query
 * could see them — and deletes them from offline storage: the client is
 * not shown them twice. Messages the archive did not keep (preferences,
 * hints) and messages archived after the query started are replayed as
 * ever. A session that sends presence first gets the full offline replay,
 * as without an archive (clients de-duplicate by stanza-id).
 *
 * The offline module asks through the host event `offline/replay`
 * (OfflineReplayEvent in offline.ts, typed in core/event_map.ts); this
 * side answers it.
 */
import type { Session } from "../../core/session.ts";
import type { OfflineReplayEvent } from "../offline.ts";

/** Session.ext key: when (ms) the session last queried before its initial presence. */
export const QUERIED_BEFORE_PRESENCE = "mam:queried-before-presence";

/**
 * Called as a query arrives (before any await, so before the session's
 * later stanzas are routed). Only a query of the whole archive counts (no
 * `with`, no `ids`: the catch-up clients make at login): one about a single
 * contact fetched nothing of the others' messages. Returns how to take it
 * back when the query fails.
 */
export function noteQuery(session: Session, now: number): () => void {
  if (session.presence !== undefined) return () => {};
  const before = session.ext.get(QUERIED_BEFORE_PRESENCE);
  session.ext.set(QUERIED_BEFORE_PRESENCE, now);
  return () => {
    if (session.ext.get(QUERIED_BEFORE_PRESENCE) !== now) return;
    if (before === undefined) session.ext.delete(QUERIED_BEFORE_PRESENCE);
    else session.ext.set(QUERIED_BEFORE_PRESENCE, before);
  };
}

/** Sets `skipArchivedBefore` when the session queried the archive before its presence. */
export function answerReplay(q: OfflineReplayEvent): false {
  const at = q.session.ext.get(QUERIED_BEFORE_PRESENCE);
  if (typeof at === "number") q.skipArchivedBefore = at;
  return false;
}
