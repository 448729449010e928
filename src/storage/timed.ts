/**
 * A StorageDriver that times every call of the one it wraps and reports
 * the duration (seconds, success or failure alike) with the call's name.
 * Storage knows nothing of metrics: the server wraps its driver once at
 * start when metrics are on (src/metrics/server_metrics.ts).
 */
import type {
  ArchiveQuery,
  ArchiveStore,
  Json,
  KeyValStore,
  MapStore,
  StorageDriver,
} from "./types.ts";

export const STORAGE_OPERATIONS = [
  "keyval_get",
  "keyval_set",
  "map_get",
  "map_set",
  "map_get_all",
  "map_get_page",
  "map_clear",
  "archive_append",
  "archive_find",
  "archive_count",
  "archive_delete",
  "archive_expire",
  "delete_user",
] as const;
export type StorageOperation = typeof STORAGE_OPERATIONS[number];

export type ObserveStorage = (op: StorageOperation, seconds: number) => void;

export function timedStorage(inner: StorageDriver, observe: ObserveStorage): StorageDriver {
  const timed = async <T>(op: StorageOperation, call: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await call();
    } finally {
      observe(op, (performance.now() - start) / 1000);
    }
  };
  return {
    get name() {
      return inner.name;
    },
    keyval(host: string, store: string): KeyValStore {
      const s = inner.keyval(host, store);
      return {
        get: (user) => timed("keyval_get", () => s.get(user)),
        set: (user, value) => timed("keyval_set", () => s.set(user, value)),
        users: s.users?.bind(s),
      };
    },
    map(host: string, store: string): MapStore {
      const s = inner.map(host, store);
      return {
        get: (user, key) => timed("map_get", () => s.get(user, key)),
        set: (user, key, value: Json | undefined) =>
          timed("map_set", () => s.set(user, key, value)),
        getAll: (user) => timed("map_get_all", () => s.getAll(user)),
        getPage: (user, after, limit) => timed("map_get_page", () => s.getPage(user, after, limit)),
        clear: (user) => timed("map_clear", () => s.clear(user)),
      };
    },
    archive(host: string, store: string): ArchiveStore {
      const s = inner.archive(host, store);
      return {
        // Synchronous time only: an append is an in-memory step of the
        // batch (the commit is where the work is), and wrapping every
        // archived message in another async function cost ~0.4 µs each.
        append: (user, item) => {
          const start = performance.now();
          const done = s.append(user, item);
          observe("archive_append", (performance.now() - start) / 1000);
          return done;
        },
        find: (user, query?: ArchiveQuery) => timed("archive_find", () => s.find(user, query)),
        count: (user, query?: ArchiveQuery) => timed("archive_count", () => s.count(user, query)),
        delete: (user, query?: ArchiveQuery) =>
          timed("archive_delete", () => s.delete(user, query)),
        expire: (before) => timed("archive_expire", () => s.expire(before)),
      };
    },
    deleteUser: (host, user) => timed("delete_user", () => inner.deleteUser(host, user)),
    close: () => inner.close(),
  };
}
