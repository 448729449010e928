/**
 * Create benchmark accounts directly in Parley's storage (user1..userN,
 * password "pw"), for the shared load generator when in-band
 * registration is not enabled. PREFIX and FIRST name other accounts: the
 * fanout scenarios use fan0..fanN (`... 21 localhost fan 0`). Usage:
 *   deno run -A bench/seed_users.ts CONFIG.json COUNT [DOMAIN] [PREFIX] [FIRST]
 */
import { loadConfig } from "../src/config/load.ts";
import { openStorage } from "../src/storage/open.ts";
import { createAuthProvider } from "../src/auth/provider.ts";

const [configPath, countArg, domainArg, prefixArg, firstArg] = Deno.args;
if (!configPath || !countArg) {
  console.error("usage: seed_users.ts CONFIG.json COUNT [DOMAIN] [PREFIX] [FIRST]");
  Deno.exit(2);
}
const { config } = await loadConfig(configPath);
const storage = openStorage(config);
const auth = createAuthProvider(config, storage);
const domain = domainArg ??
  (typeof config.hosts[0] === "string" ? config.hosts[0] : config.hosts[0].domain);
const count = Number(countArg);
const prefix = prefixArg ?? "user";
const firstIndex = firstArg === undefined ? 1 : Number(firstArg);
const last = firstIndex + count - 1;
let created = 0;
const BATCH = 32;
for (let first = firstIndex; first <= last; first += BATCH) {
  const batch = [];
  for (let i = first; i < first + BATCH && i <= last; i++) {
    batch.push(auth.createUser(domain, `${prefix}${i}`, "pw").then((ok) => ok && created++));
  }
  await Promise.all(batch);
}
await storage.close();
console.log(`${created} created, ${count - created} existed`);
