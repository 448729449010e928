/** Picks the account backend named by `config.auth.provider`. */
import type { Config } from "../config/schema.ts";
import type { StorageDriver } from "../storage/types.ts";
import { InsecureAuthProvider } from "./insecure_provider.ts";
import { InternalAuthProvider } from "./internal_provider.ts";
import type { AuthProvider } from "./types.ts";

export function createAuthProvider(config: Config, storage: StorageDriver): AuthProvider {
  const options = { iterations: config.auth.scramIterations };
  switch (config.auth.provider) {
    case "internal":
      return new InternalAuthProvider(storage, options);
    case "insecure":
      // Only reachable by naming it in the config; its constructor warns loudly.
      return new InsecureAuthProvider(storage, options);
  }
}
