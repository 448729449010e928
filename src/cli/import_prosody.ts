/** `parley import prosody DIR`: accounts and their data from a Prosody data directory. */
import { CONFIG_HELP, CONFIG_OPTION, HELP_OPTION, parse, positionals } from "./args.ts";
import { CommandFailure, EXIT_CODES_HELP, EXIT_OK, UsageError } from "./exit.ts";
import { loadConfig } from "../config/load.ts";
import { hostConfigs } from "../config/schema.ts";
import { configureLogging } from "../log.ts";
import { openStores } from "./stores.ts";
import { scanProsodyDir } from "./import_prosody_read.ts";
import { importHost, ImportTally, type ImportTarget } from "./import_prosody_host.ts";
import { adminSocketPath, serverAnswers } from "../reload/admin_socket.ts";

export const HELP = `Usage: parley import prosody DIR [options]

Import accounts and their data from a Prosody data directory (Prosody's
"internal" storage, e.g. /var/lib/prosody): accounts with their SCRAM-SHA-1
keys (users keep their passwords) or plaintext passwords, rosters, vCards,
private XML storage, offline messages, blocklists and PEP nodes with their
items. Only hosts this server hosts are imported; an account that already
exists here is left alone, with all its data.

Nothing is written unless --apply is given: without it, the command reports
what it would import and what it would skip. Stop Parley before --apply
(it caches rosters and block lists of online users, and PEP nodes): --apply
refuses to run while the server answers on its admin socket.

Prosody keeps SCRAM-SHA-1 keys only: an imported account logs in with
SCRAM-SHA-1 and PLAIN; its SCRAM-SHA-256 keys are added at its first PLAIN
login or password change (clients that insist on SCRAM-SHA-256 fail until then).

Options:
${CONFIG_HELP}
      --apply         Write the data (default: a dry run)
  -h, --help          Show this help

${EXIT_CODES_HELP}`;

/** Stores whose presence marks a Prosody host directory. */
const KNOWN_STORES = new Set(["accounts", "roster", "vcard", "private", "offline", "archive"]);

/** Skipped entries printed one by one; the rest are counted. */
const MAX_SKIPPED_SHOWN = 200;

export async function run(args: string[]): Promise<number> {
  const { values, positionals: rest } = parse(args, {
    options: { ...CONFIG_OPTION, ...HELP_OPTION, apply: { type: "boolean" } },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(HELP);
    return EXIT_OK;
  }
  const [source, dir] = positionals(rest, ["SOURCE", "DIR"]);
  if (source !== "prosody") throw new UsageError(`cannot import from "${source}" (only "prosody")`);
  const apply = values.apply === true;
  const { config } = await loadConfig(values.config);
  if (apply && config.storage.driver === "memory") {
    throw new CommandFailure(`storage.driver is "memory": nothing imported would be kept`);
  }
  try {
    if (!(await Deno.stat(dir)).isDirectory) throw new Error("not a directory");
  } catch (e) {
    throw new CommandFailure(`${dir}: ${e instanceof Error ? e.message : e}`);
  }
  if (apply && await serverAnswers(adminSocketPath(config.dataDir))) {
    throw new CommandFailure(
      `the server is running (it answers on ${adminSocketPath(config.dataDir)}): stop it ` +
        `before --apply, or it overwrites imported rosters, block lists and PEP nodes of ` +
        `online users with the copies it caches`,
    );
  }
  await configureLogging({ level: "warning", format: config.log.format });
  const hosts = await scanProsodyDir(dir);
  if (hosts.length === 0) throw new CommandFailure(`${dir}: no Prosody host directories found`);
  const hosted = new Set(hostConfigs(config).map((h) => h.domain));
  const stores = openStores(config);
  const tally = new ImportTally();
  try {
    const target: ImportTarget = { ...stores, apply };
    for (const host of hosts) {
      if (![...host.stores.keys()].some((store) => KNOWN_STORES.has(store))) {
        tally.skip(host.host, "no Prosody stores in it (is DIR Prosody's data_path?)");
        continue;
      }
      if (!hosted.has(host.host)) {
        tally.skip(host.host, `not hosted by this server (hosts: ${[...hosted].join(", ")})`);
        continue;
      }
      await importHost(host, target, tally);
    }
  } finally {
    await stores.close();
  }
  console.log(
    apply ? `Imported from ${dir}:` : `Dry run (nothing written; add --apply to import) of ${dir}:`,
  );
  for (const line of tally.summary(apply)) console.log("  " + line);
  if (tally.skippedCount > 0) {
    console.log(`Skipped (${tally.skippedCount}):`);
    for (const line of tally.skipped.slice(0, MAX_SKIPPED_SHOWN)) console.log("  " + line);
    if (tally.skippedCount > MAX_SKIPPED_SHOWN) {
      console.log(`  … and ${tally.skippedCount - MAX_SKIPPED_SHOWN} more`);
    }
  }
  return EXIT_OK;
}
