/** Storage whose archive store of one name fails every call: a broken database, a full disk. */
import { MemoryStorage } from "../../src/storage/memory.ts";
import type { ArchiveStore } from "../../src/storage/types.ts";

export function failingArchive(storeName: string): MemoryStorage {
  return new class extends MemoryStorage {
    override archive(host: string, store: string): ArchiveStore {
      if (store !== storeName) return super.archive(host, store);
      const fail = () => Promise.reject(new Error("disk on fire"));
      return { append: fail, find: fail, count: fail, delete: fail, expire: fail };
    }
  }();
}
