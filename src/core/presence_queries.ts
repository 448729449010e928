/**
 * Payloads of the events the presence and blocking modules answer for
 * each other, declared once here so neither imports the other.
 */
import type { Jid } from "../jid.ts";

/**
 * `blocking/is-blocked` (answered by the blocking module): does `owner`
 * (a localpart) block `jid`? It sets `blocked`.
 */
export interface BlockQuery {
  owner: string;
  jid: string;
  blocked?: boolean;
}

/**
 * `presence/directed` (answered by the presence module): where `owner`'s
 * resources sent directed presence that still stands (RFC 6121 §4.6),
 * among the addresses `covers` accepts. It pushes onto `found`.
 */
export interface DirectedQuery {
  owner: string;
  covers(jid: Jid): boolean;
  found: { from: string; to: string }[];
}
