/**
 * The storage interface (Prosody's three store kinds). Values are plain
 * JSON-serializable data; modules store XML as strings.
 *
 * Every store is scoped to one host and one store name and keyed by user
 * (the localpart; "" for host-wide data).
 */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** One value per user: roster, vCard, account credentials. */
export interface KeyValStore {
  get(user: string): Promise<Json | undefined>;
  /** `undefined` deletes. */
  set(user: string, value: Json | undefined): Promise<void>;
  /**
   * The users with a value in this store, sorted: for whole-host work run
   * offline (`parley export --all` lists the accounts store). Not on the
   * stanza path, so not timed; a driver may leave it out.
   */
  users?(): Promise<string[]>;
}

/** Several keyed values per user: blocking lists, private XML, pubsub items. */
export interface MapStore {
  get(user: string, key: string): Promise<Json | undefined>;
  /** `undefined` deletes. */
  set(user: string, key: string, value: Json | undefined): Promise<void>;
  getAll(user: string): Promise<Map<string, Json>>;
  /**
   * Up to `limit` of the user's entries with keys after `after` (from the
   * first when undefined), in key order: a large map read in bounded steps,
   * each page ending where the next begins (SQLite is synchronous, and a
   * `getAll` of thousands of values holds the event loop for its whole read).
   */
  getPage(user: string, after: string | undefined, limit: number): Promise<[string, Json][]>;
  /** Remove every key of the user. */
  clear(user: string): Promise<void>;
}

export interface ArchiveItem {
  id: string;
  /** Milliseconds since the epoch. */
  when: number;
  /** The other party (bare JID), for with-filtering. */
  with?: string;
  value: Json;
}

export interface ArchiveAppend {
  id?: string;
  /** Milliseconds since the epoch; now when not given. */
  when?: number;
  with?: string;
  value: Json;
  /**
   * The id was made for this item by `newArchiveId(when)` (schema.ts), so
   * it is unique by construction (80 random bits past its time) and the store skips its
   * duplicate check, which would otherwise cost a lookup per append.
   */
  generated?: boolean;
}

export interface ArchiveQuery {
  /** Inclusive bounds, ms since the epoch. */
  start?: number;
  end?: number;
  with?: string;
  /** Exclusive: items strictly after / before the item with this id. */
  after?: string;
  before?: string;
  ids?: string[];
  limit?: number;
  /** Newest first. */
  reverse?: boolean;
}

/** Append-only, queryable by time, with-JID and id: MAM, offline messages. */
export interface ArchiveStore {
  /** Returns the item's id (generated when not given). */
  append(user: string, item: ArchiveAppend): Promise<string>;
  find(user: string, query?: ArchiveQuery): Promise<ArchiveItem[]>;
  count(user: string, query?: ArchiveQuery): Promise<number>;
  /** Delete the matching items (all of the user's with no query); returns how many. */
  delete(user: string, query?: ArchiveQuery): Promise<number>;
  /**
   * Delete every user's items older than `before` (ms since the epoch,
   * exclusive) in this host's store: retention. Returns how many.
   */
  expire(before: number): Promise<number>;
}

export interface StorageDriver {
  readonly name: string;
  keyval(host: string, store: string): KeyValStore;
  map(host: string, store: string): MapStore;
  archive(host: string, store: string): ArchiveStore;
  /** Remove every item of every store kind belonging to the user. */
  deleteUser(host: string, user: string): Promise<void>;
  /** Commit pending writes and release the database. */
  close(): Promise<void>;
}
