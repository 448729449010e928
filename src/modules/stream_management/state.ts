/**
 * A session's stream management state: a handful of plain fields in
 * `session.ext`, and no timer of its own (one sweep per host serves every
 * session, see sweeper.ts). It is the outbox's AckWatcher, so a stanza
 * kept for acks can trigger an ack request by count.
 */
import type { AckWatcher } from "../../core/outbox.ts";
import type { Session } from "../../core/session.ts";

/** The key in `session.ext`. */
export const SM = "sm";

/** What decides for all of a host's sessions (the manager): one shared object. */
export interface SmPolicy {
  kept(state: SmState, unacked: number): void;
}

export class SmState implements AckWatcher {
  /** When (ms) the unanswered ack request went out; 0: none outstanding. */
  requestedAt = 0;
  /**
   * When (ms) the oldest unacknowledged stanza was sent; 0: none. After a
   * partial ack it is the ack's time (a stanza's own send time is not
   * kept): requests by time come at most that much later.
   */
  unackedSince = 0;
  /** While hibernating: when (ms) the session ends unless resumed. */
  expiresAt = 0;
  /** Its end is under way (too many unacked): neither hibernate nor request. */
  ending = false;

  constructor(
    readonly session: Session,
    readonly policy: SmPolicy,
    /** The resumption id (`previd`); undefined when it may not be resumed. */
    readonly id: string | undefined,
    /** How long a hibernation may last, seconds. */
    readonly timeoutSeconds: number,
  ) {}

  kept(unacked: number): void {
    this.policy.kept(this, unacked);
  }
}

export function smState(session: Session): SmState | undefined {
  return session.ext.get(SM) as SmState | undefined;
}
