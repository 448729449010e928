/**
 * Which resources want which of an account's PEP nodes: the account's own
 * resources and its contacts' resources, each with the features its caps
 * stand for (`<node>+notify`, XEP-0163 §4.2 filtered notifications).
 * Filled from the available presence the account's resources send and
 * receive; forgotten on unavailable. In memory only: after a restart the
 * next presence fills it again.
 */
import type { Features } from "./caps_cache.ts";

/** Resources remembered per account: more are not tracked (a flood of directed presence). */
export const MAX_RESOURCES_PER_ACCOUNT = 5000;

export class Interest {
  readonly #byOwner = new Map<string, Map<string, Features>>();

  /** Remember `features` for `full`; returns what was there before. */
  set(owner: string, full: string, features: Features): Features | undefined {
    let map = this.#byOwner.get(owner);
    if (!map) this.#byOwner.set(owner, map = new Map());
    const before = map.get(full);
    if (before === undefined && map.size >= MAX_RESOURCES_PER_ACCOUNT) return undefined;
    map.set(full, features);
    return before;
  }

  has(owner: string, full: string): boolean {
    return this.#byOwner.get(owner)?.has(full) ?? false;
  }

  delete(owner: string, full: string): void {
    const map = this.#byOwner.get(owner);
    if (!map) return;
    map.delete(full);
    if (map.size === 0) this.#byOwner.delete(owner);
  }

  forget(owner: string): void {
    this.#byOwner.delete(owner);
  }

  /** Full JIDs of `owner`'s tracked resources whose features ask for `node`'s notifications. */
  wanting(owner: string, node: string): string[] {
    const want = node + "+notify";
    const out: string[] = [];
    for (const [full, features] of this.#byOwner.get(owner) ?? []) {
      if (features.has(want)) out.push(full);
    }
    return out;
  }
}
