/**
 * Create benchmark accounts directly in Parley's storage (user1..userN,
 * password "pw"), for the shared load generator when in-band
 * registration is not enabled. Usage:
 *   deno run -A bench/seed_users.ts CONFIG.json COUNT [DOMAIN]
 */
import { loadConfig } from "../src/config/load.ts";
import { openStorage } from "../src/storage/open.ts";
import { createAuthProvider } from "../src/auth/provider.ts";

const [configPath, countArg, domainArg] = Deno.args;
if (!configPath || !countArg) {
  console.error("usage: seed_users.ts CONFIG.json COUNT [DOMAIN]");
  Deno.exit(2);
}
const { config } = await loadConfig(configPath);
const storage = openStorage(config);
const auth = createAuthProvider(config, storage);
const domain = domainArg ??
  (typeof config.hosts[0] === "string" ? config.hosts[0] : config.hosts[0].domain);
const count = Number(countArg);
let created = 0;
const BATCH = 32;
for (let first = 1; first <= count; first += BATCH) {
  const batch = [];
  for (let i = first; i < first + BATCH && i <= count; i++) {
    batch.push(auth.createUser(domain, `user${i}`, "pw").then((ok) => ok && created++));
  }
  await Promise.all(batch);
}
await storage.close();
console.log(`${created} created, ${count - created} existed`);
