/**
 * How many nodes a scope holds and how many each JID owns, kept in step
 * with the engine's writes, so that creating a node checks its limits
 * without reading every node of the scope. The pubsub service holds up
 * to `pubsub.maxNodes` (10 000) nodes, each with its affiliations,
 * subscriptions and item list; reading all of them for every create (and
 * every refused create at the limit) let one user hold the event loop.
 *
 * A tally is built from storage the first time a scope needs one and then
 * updated by the engine, which is the only writer of a scope while the
 * server runs (its operations on one scope run one after another). The
 * one write that bypasses it, removing an account's data, calls `forget`.
 * Bounded: the least recently used scope's tally goes first.
 */
import type { Affiliation, StoredNode } from "./types.ts";

interface Tally {
  nodes: number;
  /** Bare JID → nodes it owns. */
  owned: Map<string, number>;
}

const DEFAULT_MAX_SCOPES = 1000;

export class ScopeTallies {
  readonly #tallies = new Map<string, Tally>();
  /** Counts forget() calls: a tally read across one may be stale, and is not kept. */
  #forgets = 0;

  constructor(readonly maxScopes = DEFAULT_MAX_SCOPES) {}

  /** The scope's tally, from the cache or built from `load()` (all of its nodes). */
  async get(scope: string, load: () => Promise<StoredNode[]>): Promise<Readonly<Tally>> {
    let tally = this.#tallies.get(scope);
    if (tally) {
      // Most recently used last.
      this.#tallies.delete(scope);
    } else {
      const forgets = this.#forgets;
      tally = { nodes: 0, owned: new Map() };
      for (const node of await load()) this.#count(tally, node.affiliations, 1);
      if (forgets !== this.#forgets) return tally;
    }
    this.#tallies.set(scope, tally);
    if (this.#tallies.size > this.maxScopes) {
      this.#tallies.delete(this.#tallies.keys().next().value!);
    }
    return tally;
  }

  added(scope: string, node: StoredNode): void {
    const tally = this.#tallies.get(scope);
    if (tally) this.#count(tally, node.affiliations, 1);
  }

  removed(scope: string, node: StoredNode): void {
    const tally = this.#tallies.get(scope);
    if (tally) this.#count(tally, node.affiliations, -1);
  }

  /** A node's affiliations changed from `before` to `after`. */
  reaffiliated(
    scope: string,
    before: Record<string, Affiliation>,
    after: Record<string, Affiliation>,
  ): void {
    const tally = this.#tallies.get(scope);
    if (!tally) return;
    for (const jid of new Set([...Object.keys(before), ...Object.keys(after)])) {
      const was = before[jid] === "owner";
      const is = after[jid] === "owner";
      if (was !== is) this.#own(tally, jid, is ? 1 : -1);
    }
  }

  /** The scope's nodes changed behind the engine's back (an account removed). */
  forget(scope: string): void {
    this.#forgets++;
    this.#tallies.delete(scope);
  }

  #count(tally: Tally, affiliations: Record<string, Affiliation>, delta: 1 | -1): void {
    tally.nodes += delta;
    for (const [jid, aff] of Object.entries(affiliations)) {
      if (aff === "owner") this.#own(tally, jid, delta);
    }
  }

  #own(tally: Tally, jid: string, delta: number): void {
    const n = (tally.owned.get(jid) ?? 0) + delta;
    if (n > 0) tally.owned.set(jid, n);
    else tally.owned.delete(jid);
  }
}
