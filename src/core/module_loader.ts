/**
 * Loading and unloading modules on a host. Everything a module registers
 * through its ModuleApi is tracked (ModuleRegistrations), so unloading it
 * removes its hooks, features, identities, stream features, providers,
 * timers and pending iqs, and runs its `onUnload` cleanups: stanzas it
 * handled then get what an unhandled stanza gets (service-unavailable for
 * an iq). Used by tests now and by config reload later.
 */
import type { Host } from "./host.ts";
import { createModuleApi, type ParleyModule, type ServerParts } from "./module_api.ts";
import { ModuleRegistrations } from "./module_registrations.ts";
import { logger } from "../log.ts";

const log = logger("mod", "loader");

/** Per host: the loaded modules by name, with what each registered. */
const loaded = new WeakMap<Host, Map<string, ModuleRegistrations>>();

function loadedOn(host: Host): Map<string, ModuleRegistrations> {
  let m = loaded.get(host);
  if (!m) loaded.set(host, m = new Map());
  return m;
}

/** Load `module` on `host`; a setup that fails leaves nothing behind. */
export async function loadModule(
  host: Host,
  module: ParleyModule,
  parts: ServerParts,
): Promise<void> {
  const modules = loadedOn(host);
  if (modules.has(module.name)) {
    throw new Error(`Module "${module.name}" is already loaded on ${host.domain}`);
  }
  const registrations = new ModuleRegistrations(logger("mod", module.name));
  modules.set(module.name, registrations);
  try {
    await module.setup(createModuleApi(module.name, host, parts, registrations));
  } catch (err) {
    modules.delete(module.name);
    registrations.dispose();
    throw err;
  }
}

/** Unload the module `name` from `host`; false when it was not loaded there. */
export function unloadModule(host: Host, name: string): boolean {
  const modules = loaded.get(host);
  const registrations = modules?.get(name);
  if (!registrations) return false;
  modules!.delete(name);
  registrations.dispose();
  log.info("unloaded {name} from {domain}", { name, domain: host.domain });
  return true;
}

/** The names of the modules loaded on `host`, in load order. */
export function loadedModules(host: Host): string[] {
  return [...(loaded.get(host)?.keys() ?? [])];
}
