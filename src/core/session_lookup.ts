/**
 * How modules and the delivery rules find sessions: by full JID, and by
 * account (bare JID) with the priorities RFC 6121 §8.5.2 delivers by.
 * `SessionRegistry` answers it for the sessions of this process; it is an
 * interface so that a later cluster mode can answer it for sessions on
 * other nodes too (a remote session would be a Session whose `send`
 * forwards to its node). So a caller uses only what a Session shows (JIDs,
 * `presence`, `priority`, `interested`, `send`), never the registry's
 * maps, and treats what it gets as a snapshot of this moment.
 *
 * Hosts are the served domains; usernames and full JIDs are prepared
 * (RFC 7622), as the router and binding produce them.
 */
import type { Session } from "./session.ts";

export interface SessionLookup {
  /** The session bound to `fullJid` on `host`, if any. */
  full(fullJid: string, host: string): Session | undefined;

  /** The account's bound resources, in bind order; empty when none is online. */
  resources(host: string, username: string): Session[];

  /** Whether the account has a bound resource (`resources` without the array, for hot paths). */
  online(host: string, username: string): boolean;

  /**
   * The account's available resources (an undirected available presence
   * sent, RFC 6121 §4.2), whatever their priority, in bind order: they
   * receive the user's own presence and presence broadcasts.
   */
  available(host: string, username: string): Session[];

  /**
   * Where a message to the bare JID goes (RFC 6121 §8.5.2.1): the
   * available resources with non-negative priority, highest priority
   * first. A chat or normal message goes to those sharing the first one's
   * priority (§8.5.2.1.1), a headline to all of them (§8.5.2.1.2); none
   * means the account has no resource to deliver to (§8.5.2.2: offline
   * storage or an error).
   */
  bareTargets(host: string, username: string): Session[];

  /** Every bound session of `host` (admin commands, statistics). */
  bound(host: string): Session[];

  /**
   * The roster the roster module loaded for an online account, shared by
   * its resources here (`Session.roster` of each); undefined when the
   * account has no session or none was loaded.
   */
  roster(host: string, username: string): unknown;

  /** Keep `roster` as the online account's shared roster (no-op when none is online). */
  setRoster(host: string, username: string, roster: unknown): void;
}
