/**
 * Users' block lists (XEP-0191), kept in the `blocking` map (one key per
 * blocked JID, as prepared) and cached in memory: the list is checked for
 * every stanza to and from the user, which must not cost a storage read.
 */
import type { Jid } from "../../jid.ts";
import type { MapStore } from "../../storage/types.ts";

/** Lists kept in memory; the least recently used is dropped past this. */
const MAX_CACHED = 4096;

export type BlockList = Set<string>;

export class BlockLists {
  /** Map order is recency order: a hit moves the entry to the end. */
  #cache = new Map<string, BlockList>();
  #loading = new Map<string, Promise<BlockList>>();

  constructor(readonly store: MapStore, readonly maxCached = MAX_CACHED) {}

  /**
   * The user's list: synchronous when cached (the common case), so the
   * stanza path stays free of promises. Callers mutate it only through
   * `add`/`remove`/`clear`, which keep storage in step.
   */
  get(user: string): BlockList | Promise<BlockList> {
    const hit = this.#cache.get(user);
    if (hit !== undefined) {
      this.#cache.delete(user);
      this.#cache.set(user, hit);
      return hit;
    }
    let pending = this.#loading.get(user);
    if (pending === undefined) {
      // One read however many stanzas arrive while it runs.
      pending = this.store.getAll(user).then(
        (stored) => {
          this.#loading.delete(user);
          const list: BlockList = new Set(stored.keys());
          this.#remember(user, list);
          return list;
        },
        (err) => {
          this.#loading.delete(user);
          throw err;
        },
      );
      this.#loading.set(user, pending);
    }
    return pending;
  }

  #remember(user: string, list: BlockList): void {
    this.#cache.set(user, list);
    if (this.#cache.size > this.maxCached) {
      this.#cache.delete(this.#cache.keys().next().value!);
    }
  }

  async add(user: string, jids: string[]): Promise<void> {
    const list = await this.get(user);
    for (const j of jids) list.add(j);
    this.#remember(user, list);
    await Promise.all(jids.map((j) => this.store.set(user, j, true)));
  }

  async remove(user: string, jids: string[]): Promise<void> {
    const list = await this.get(user);
    for (const j of jids) list.delete(j);
    this.#remember(user, list);
    await Promise.all(jids.map((j) => this.store.set(user, j, undefined)));
  }

  async clear(user: string): Promise<void> {
    const list = await this.get(user);
    list.clear();
    this.#remember(user, list);
    await this.store.clear(user);
  }

  /** Drop the cached list (the account is gone). */
  forget(user: string): void {
    this.#cache.delete(user);
  }
}

/**
 * Whether `jid` is blocked by `list`, matching as XEP-0191 §3 (after
 * XEP-0016) orders it: the full JID, the bare JID, domain/resource, then
 * the domain, which also covers every address at its subdomains.
 */
export function isBlocked(list: BlockList, jid: Jid): boolean {
  if (list.size === 0) return false;
  if (list.has(jid.full) || list.has(jid.bare)) return true;
  if (jid.resource !== undefined && list.has(jid.domain + "/" + jid.resource)) return true;
  let domain = jid.domain;
  for (;;) {
    if (list.has(domain)) return true;
    const dot = domain.indexOf(".");
    if (dot === -1) return false;
    domain = domain.slice(dot + 1);
  }
}
