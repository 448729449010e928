/**
 * Tombstones of deleted accounts. Contacts, rooms and services elsewhere
 * may still trust a deleted account's JID (a roster subscription a
 * remote server never heard the end of, a members-only room, an admin
 * list); whoever registered the same name next would inherit that trust.
 * So a deletion leaves a tombstone, and the name cannot be taken again
 * until it expires (`accounts.tombstoneDays`; 0 keeps none).
 *
 * Stored in the host-wide part of the `tombstones` map store (user "",
 * which no account can be), key = username, value = when it was buried
 * (ms). Host-wide data survives `deleteUser`, which would otherwise remove
 * the tombstone along with the account it stands for. An expired one is
 * removed when it is next looked at.
 */
import type { MapStore, StorageDriver } from "../storage/types.ts";

const STORE = "tombstones";
/** The storage layer's user for host-wide data (never an account's localpart). */
const HOST_WIDE = "";
const DAY_MS = 86_400_000;

export class Tombstones {
  readonly #storage: StorageDriver;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(storage: StorageDriver, days: number, now: () => number = Date.now) {
    this.#storage = storage;
    this.#ttlMs = days * DAY_MS;
    this.#now = now;
  }

  #store(host: string): MapStore {
    return this.#storage.map(host, STORE);
  }

  /** Leave a tombstone for `user` (deleted now); nothing when tombstones are off. */
  async bury(host: string, user: string): Promise<void> {
    if (this.#ttlMs <= 0) return;
    await this.#store(host).set(HOST_WIDE, user, this.#now());
  }

  /** When `user`'s tombstone expires (ms), or undefined when there is none in force. */
  async reservedUntil(host: string, user: string): Promise<number | undefined> {
    const store = this.#store(host);
    const buried = await store.get(HOST_WIDE, user);
    if (typeof buried !== "number") return undefined;
    // Read with today's setting: shortening it frees names at once.
    const until = buried + this.#ttlMs;
    if (until > this.#now()) return until;
    await store.set(HOST_WIDE, user, undefined);
    return undefined;
  }

  /** Remove `user`'s tombstone (an operator recreating the account on purpose). */
  async lift(host: string, user: string): Promise<void> {
    await this.#store(host).set(HOST_WIDE, user, undefined);
  }
}
