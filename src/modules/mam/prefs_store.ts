/**
 * Each user's archiving preferences, read on every archived message: kept
 * in memory for the users seen lately (a bounded cache, least recently
 * used out first), written through to `keyval("mam_prefs")`. Users who
 * never set any take the configured default (`mam.default`) and store
 * nothing.
 */
import type { KeyValStore } from "../../storage/types.ts";
import { type DefaultPref, Prefs } from "./prefs.ts";

/** Users whose prefs stay in memory. */
const CACHE_MAX = 10_000;

export class PrefsStore {
  readonly #cache = new Map<string, Prefs>();
  /** Loads in progress, so messages that wait for one keep their order. */
  readonly #loading = new Map<string, Promise<Prefs>>();

  constructor(readonly kv: KeyValStore, readonly fallback: DefaultPref) {}

  /** The user's prefs: at once when cached, else once storage answers. */
  get(user: string): Prefs | Promise<Prefs> {
    const hit = this.#cache.get(user);
    if (hit) {
      // Most recently used last: Map keeps insertion order.
      this.#cache.delete(user);
      this.#cache.set(user, hit);
      return hit;
    }
    let loading = this.#loading.get(user);
    if (!loading) {
      loading = this.kv.get(user).then(
        (v) => {
          const p = Prefs.fromJson(v, this.fallback);
          if (this.#loading.get(user) === loading) this.#remember(user, p);
          return p;
        },
      ).finally(() => {
        if (this.#loading.get(user) === loading) this.#loading.delete(user);
      });
      this.#loading.set(user, loading);
    }
    return loading;
  }

  async set(user: string, prefs: Prefs): Promise<void> {
    await this.kv.set(user, prefs.toJson());
    // A load that started before this write must not overwrite it.
    this.#loading.delete(user);
    this.#remember(user, prefs);
  }

  /** The account is gone (its stored prefs with it). */
  forget(user: string): void {
    this.#cache.delete(user);
    this.#loading.delete(user);
  }

  #remember(user: string, prefs: Prefs): void {
    this.#cache.delete(user);
    this.#cache.set(user, prefs);
    if (this.#cache.size > CACHE_MAX) this.#cache.delete(this.#cache.keys().next().value!);
  }
}
