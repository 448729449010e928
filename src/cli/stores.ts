/**
 * The configured storage with its auth provider and tombstones, as the
 * server builds them, for commands that work on accounts offline (import,
 * the deep check's temporary account). close() closes the storage.
 */
import type { Config } from "../config/schema.ts";
import { openStorage } from "../storage/open.ts";
import { createAuthProvider } from "../auth/provider.ts";
import type { AccountStores } from "../core/accounts.ts";
import { Tombstones } from "../core/tombstones.ts";

export function openStores(config: Config): AccountStores & { close(): Promise<void> } {
  const storage = openStorage(config);
  return {
    storage,
    auth: createAuthProvider(config, storage),
    tombstones: new Tombstones(storage, config.accounts.tombstoneDays),
    close: () => storage.close(),
  };
}
