/**
 * A removed account's uploads, the one way both removals do it: the
 * running server's `upload` module on `user-deleted`, and `parley
 * deluser`, which runs without modules and so opens the service's files
 * itself. Files are kept per upload service and keyed by the uploader's
 * bare JID (`user@parent`), which is what both remove by.
 */
import { join } from "node:path";
import { type Config, serviceHostConfigs } from "../../config/schema.ts";
import { FileStore } from "./store.ts";

/** Where the upload services keep their files and signing secret: `<dataDir>/uploads/`. */
export function uploadsRoot(dataDir: string): string {
  return join(dataDir, "uploads");
}

/** Where one upload service keeps its files: `<dataDir>/uploads/<service domain>/`. */
export function serviceFilesDir(dataDir: string, serviceDomain: string): string {
  return join(uploadsRoot(dataDir), serviceDomain);
}

/** Remove every file (bytes and metadata) and unused slot of `username@parent`; how many files went. */
export async function removeUserUploads(
  store: FileStore,
  parent: string,
  username: string,
): Promise<number> {
  return await store.removeOwner(`${username}@${parent}`);
}

/**
 * Without a running server: remove the files of `username@host` from the
 * upload service the config gives `host` (none when upload is disabled
 * or an external component has its domain); how many files went. The
 * store is opened without tidying, so a server left running keeps its
 * half-written uploads (only this user's files are touched).
 */
export async function removeUserUploadsOffline(
  config: Config,
  host: string,
  username: string,
): Promise<number> {
  const service = serviceHostConfigs(config).find((h) =>
    h.service === "upload" && h.parent === host
  );
  if (!service) return 0;
  const dir = serviceFilesDir(config.dataDir, service.domain);
  // Nothing was ever uploaded there: create nothing.
  if (!await isDirectory(dir)) return 0;
  const store = await FileStore.open(dir, { tidy: false });
  return await removeUserUploads(store, host, username);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
