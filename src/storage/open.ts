/** Builds the configured storage driver. */
import { dirname, resolve } from "node:path";
import type { StorageDriver } from "./types.ts";
import { MemoryStorage } from "./memory.ts";
import { SqliteStorage } from "./sqlite.ts";

export interface StorageSettings {
  dataDir: string;
  storage: { driver: "sqlite" | "memory"; path: string; commitIntervalMs?: number };
}

export function openStorage(config: StorageSettings): StorageDriver {
  if (config.storage.driver === "memory") return new MemoryStorage();
  const { dataDir, storage } = config;
  const opts = { commitIntervalMs: storage.commitIntervalMs };
  if (storage.path === ":memory:") return new SqliteStorage(":memory:", opts);
  // resolve() keeps an absolute path as is; a relative one lands in dataDir.
  const file = resolve(dataDir, storage.path);
  Deno.mkdirSync(dataDir, { recursive: true });
  // The path may name a subdirectory of dataDir (or somewhere else entirely).
  Deno.mkdirSync(dirname(file), { recursive: true });
  return new SqliteStorage(file, opts);
}
