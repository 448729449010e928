/**
 * In-process storage for tests and throwaway servers. Values are kept as
 * their JSON text, as the SQL drivers keep them: that deep-copies on the
 * way in and out (callers cannot mutate stored state) and makes this
 * driver accept, reject and return exactly what SQLite does, so a test
 * that passes here means the same thing on the real driver.
 */
import type {
  ArchiveItem,
  ArchiveQuery,
  ArchiveStore,
  Json,
  KeyValStore,
  MapStore,
  StorageDriver,
} from "./types.ts";
import {
  decodeValue,
  duplicateIdError,
  encodeValue,
  pageLimit,
  prepareArchiveItem,
  queryLimit,
} from "./schema.ts";

interface Entry {
  seq: number;
  id: string;
  when: number;
  with: string | null;
  text: string;
}

interface Archive {
  /** Sorted by (when, seq): the archive order. */
  entries: Entry[];
  byId: Map<string, Entry>;
}

/** Archive order: by time, then by insertion. */
function before(a: Entry, b: Entry): boolean {
  return a.when < b.when || (a.when === b.when && a.seq < b.seq);
}

/**
 * Rows are keyed by JSON [host, user, store]: unambiguous whatever the
 * strings hold, and every key of one (host, user) shares a prefix, which
 * is what deleteUser needs.
 */
function rowKey(host: string, user: string, store: string): string {
  return JSON.stringify([host, user, store]);
}

function userPrefix(host: string, user: string): string {
  return JSON.stringify([host, user]).slice(0, -1) + ",";
}

export class MemoryStorage implements StorageDriver {
  readonly name = "memory";
  #keyval = new Map<string, string>();
  #map = new Map<string, Map<string, string>>();
  #archive = new Map<string, Archive>();
  #seq = 0;
  #closed = false;

  /** Runs synchronous work as the drivers' async API: a throw becomes a rejection. */
  #run<T>(fn: () => T): Promise<T> {
    try {
      if (this.#closed) throw new Error("storage: closed");
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  keyval(host: string, store: string): KeyValStore {
    const rows = this.#keyval;
    return {
      get: (user) =>
        this.#run(() => {
          const text = rows.get(rowKey(host, user, store));
          return text === undefined ? undefined : decodeValue(text);
        }),
      set: (user, value) =>
        this.#run(() => {
          const key = rowKey(host, user, store);
          if (value === undefined) rows.delete(key);
          else rows.set(key, encodeValue(value));
        }),
      users: () =>
        this.#run(() => {
          const out: string[] = [];
          for (const key of rows.keys()) {
            const [h, user, s] = JSON.parse(key) as [string, string, string];
            if (h === host && s === store) out.push(user);
          }
          return out.sort();
        }),
    };
  }

  map(host: string, store: string): MapStore {
    const rows = this.#map;
    return {
      get: (user, key) =>
        this.#run(() => {
          const text = rows.get(rowKey(host, user, store))?.get(key);
          return text === undefined ? undefined : decodeValue(text);
        }),
      set: (user, key, value) =>
        this.#run(() => {
          const k = rowKey(host, user, store);
          if (value === undefined) {
            const m = rows.get(k);
            m?.delete(key);
            if (m?.size === 0) rows.delete(k);
            return;
          }
          const text = encodeValue(value);
          let m = rows.get(k);
          if (!m) rows.set(k, m = new Map());
          m.set(key, text);
        }),
      getAll: (user) =>
        this.#run(() => {
          const out = new Map<string, Json>();
          // Sorted, as the SQL driver returns them.
          const entries = [...rows.get(rowKey(host, user, store)) ?? []].sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0
          );
          for (const [key, text] of entries) {
            out.set(key, decodeValue(text));
          }
          return out;
        }),
      getPage: (user, after, limit) =>
        this.#run(() => {
          const size = pageLimit(limit);
          const m = rows.get(rowKey(host, user, store));
          if (!m) return [];
          // The keys past `after`, sorted (as SQLite orders them) and cut.
          const keys = [...m.keys()]
            .filter((k) => after === undefined || k > after)
            .sort((a, b) => a < b ? -1 : a > b ? 1 : 0)
            .slice(0, size);
          return keys.map((k): [string, Json] => [k, decodeValue(m.get(k)!)]);
        }),
      clear: (user) =>
        this.#run(() => {
          rows.delete(rowKey(host, user, store));
        }),
    };
  }

  archive(host: string, store: string): ArchiveStore {
    const archives = this.#archive;
    const get = (user: string) => archives.get(rowKey(host, user, store));
    return {
      append: (user, item) =>
        this.#run(() => {
          const row = prepareArchiveItem(item);
          const k = rowKey(host, user, store);
          let a = archives.get(k);
          if (!a) archives.set(k, a = { entries: [], byId: new Map() });
          if (a.byId.has(row.id)) throw duplicateIdError(row.id);
          const entry: Entry = { seq: ++this.#seq, ...row };
          // Items mostly arrive in time order, so search from the end.
          let i = a.entries.length;
          while (i > 0 && before(entry, a.entries[i - 1])) i--;
          a.entries.splice(i, 0, entry);
          a.byId.set(entry.id, entry);
          return entry.id;
        }),
      find: (user, query = {}) =>
        this.#run(() => {
          return select(get(user), query).map(toItem);
        }),
      count: (user, query = {}) =>
        this.#run(() => {
          return select(get(user), query).length;
        }),
      delete: (user, query = {}) =>
        this.#run(() => {
          const a = get(user);
          const gone = new Set(select(a, query));
          if (!a) return 0;
          a.entries = a.entries.filter((e) => !gone.has(e));
          for (const e of gone) a.byId.delete(e.id);
          if (a.entries.length === 0) archives.delete(rowKey(host, user, store));
          return gone.size;
        }),
      expire: (cutoff) =>
        this.#run(() => {
          if (!Number.isSafeInteger(cutoff)) throw new TypeError(`storage: bad cutoff ${cutoff}`);
          const prefix = JSON.stringify([host]).slice(0, -1) + ",";
          const suffix = "," + JSON.stringify(store) + "]";
          let n = 0;
          for (const [k, a] of [...archives]) {
            if (!k.startsWith(prefix) || !k.endsWith(suffix)) continue;
            // Entries are in time order: the expired ones are a prefix.
            let cut = 0;
            while (cut < a.entries.length && a.entries[cut].when < cutoff) cut++;
            for (const e of a.entries.splice(0, cut)) a.byId.delete(e.id);
            n += cut;
            if (a.entries.length === 0) archives.delete(k);
          }
          return n;
        }),
    };
  }

  deleteUser(host: string, user: string): Promise<void> {
    return this.#run(() => {
      const prefix = userPrefix(host, user);
      for (const rows of [this.#keyval, this.#map, this.#archive]) {
        for (const key of [...rows.keys()]) if (key.startsWith(prefix)) rows.delete(key);
      }
    });
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#keyval.clear();
    this.#map.clear();
    this.#archive.clear();
    return Promise.resolve();
  }
}

function toItem(e: Entry): ArchiveItem {
  const item: ArchiveItem = { id: e.id, when: e.when, value: decodeValue(e.text) };
  if (e.with !== null) item.with = e.with;
  return item;
}

/** The entries a query selects, in result order (what find returns). */
function select(a: Archive | undefined, q: ArchiveQuery): Entry[] {
  // Validated even when there is nothing to select, as the SQL driver does.
  const limit = queryLimit(q.limit);
  if (!a) return [];
  // An after/before id that is not in the archive matches nothing, as the
  // SQL row comparison against an empty subquery does.
  const after = q.after === undefined ? undefined : a.byId.get(q.after);
  const until = q.before === undefined ? undefined : a.byId.get(q.before);
  if ((q.after !== undefined && !after) || (q.before !== undefined && !until)) return [];
  const ids = q.ids && new Set(q.ids);
  let out = a.entries.filter((e) =>
    (q.start === undefined || e.when >= q.start) &&
    (q.end === undefined || e.when <= q.end) &&
    (q.with === undefined || e.with === q.with) &&
    (!ids || ids.has(e.id)) &&
    (!after || before(after, e)) &&
    (!until || before(e, until))
  );
  if (q.reverse) out.reverse();
  if (limit !== undefined) out = out.slice(0, limit);
  return out;
}
