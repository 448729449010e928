/** What adduser, passwd and deluser share: config, the JID's host and user, storage and auth. */
import { loadConfig } from "../config/load.ts";
import { type Config, hostConfigs } from "../config/schema.ts";
import { configureLogging } from "../log.ts";
import { jidProblem, parseJid } from "../jid.ts";
import type { StorageDriver } from "../storage/types.ts";
import type { AuthProvider } from "../auth/types.ts";
import type { AccountStores } from "../core/accounts.ts";
import { openStores } from "./stores.ts";
import { EXIT_OK, UsageError } from "./exit.ts";
import { CONFIG_OPTION, HELP_OPTION, parse, positionals } from "./args.ts";

const PASSWORD_STDIN_OPTION = {
  "password-stdin": { type: "boolean" },
} as const;

const FORCE_OPTION = {
  force: { type: "boolean" },
} as const;

/** The options a command takes besides --config and --help. */
export interface AccountCommandOptions {
  passwordStdin?: boolean;
  force?: boolean;
}

export interface AccountCommandFlags {
  passwordFromStdin: boolean;
  force: boolean;
}

/**
 * The frame of adduser, passwd and deluser: options, `--help`, one JID,
 * the account opened and always closed around `body`.
 */
export async function runAccountCommand(
  args: string[],
  help: string,
  accepts: AccountCommandOptions,
  body: (account: Account, flags: AccountCommandFlags) => Promise<number>,
): Promise<number> {
  const { values, positionals: rest } = parse(args, {
    options: {
      ...CONFIG_OPTION,
      ...HELP_OPTION,
      ...(accepts.passwordStdin ? PASSWORD_STDIN_OPTION : {}),
      ...(accepts.force ? FORCE_OPTION : {}),
    },
    allowPositionals: true,
  });
  const flags = values as {
    help?: boolean;
    config?: string;
    "password-stdin"?: boolean;
    force?: boolean;
  };
  if (flags.help) {
    console.log(help);
    return EXIT_OK;
  }
  const [jid] = positionals(rest, ["JID"]);
  const account = await openAccount(jid, flags.config);
  try {
    return await body(account, {
      passwordFromStdin: flags["password-stdin"] === true,
      force: flags.force === true,
    });
  } finally {
    await account.close();
  }
}

export interface Account {
  host: string;
  user: string;
  /** `user@host`, prepared, for messages. */
  jid: string;
  storage: StorageDriver;
  provider: AuthProvider;
  /** The same stores, for core/accounts.ts (tombstones as configured). */
  stores: AccountStores;
  /** The loaded config (dataDir, services), for data kept outside the storage. */
  config: Config;
  close(): Promise<void>;
}

/** Validates the JID against the config before anything touches storage. */
export async function openAccount(jidText: string, configPath?: string): Promise<Account> {
  const { config } = await loadConfig(configPath);
  const jid = parseJid(jidText);
  if (!jid) throw new UsageError(`"${jidText}" is not a valid JID: ${jidProblem(jidText)}`);
  if (jid.local === undefined) throw new UsageError(`"${jidText}" has no user part (user@domain)`);
  if (jid.resource !== undefined) {
    throw new UsageError(`give the bare JID ${jid.bare}, without the resource`);
  }
  return { ...await openHostOf(config, jid.domain), user: jid.local, jid: jid.bare };
}

/** A hosted domain's stores, for commands that work on all of its accounts. */
export type HostStores = Omit<Account, "user" | "jid">;

/** Validates the domain against the config before anything touches storage. */
export async function openHost(domain: string, configPath?: string): Promise<HostStores> {
  const { config } = await loadConfig(configPath);
  const jid = parseJid(domain);
  if (!jid || jid.local !== undefined || jid.resource !== undefined) {
    throw new UsageError(`"${domain}" is not a domain name`);
  }
  return await openHostOf(config, jid.domain);
}

async function openHostOf(config: Config, domain: string): Promise<HostStores> {
  const hosts = hostConfigs(config).map((h) => h.domain);
  if (!hosts.includes(domain)) {
    throw new UsageError(
      `${domain} is not hosted by this server (hosts: ${hosts.join(", ")})`,
    );
  }
  // Warnings and errors only: an admin command's output is its own messages.
  await configureLogging({ level: "warning", format: config.log.format });
  const { storage, auth, tombstones, close } = openStores(config);
  return {
    host: domain,
    storage,
    provider: auth,
    stores: { auth, storage, tombstones },
    config,
    close,
  };
}
