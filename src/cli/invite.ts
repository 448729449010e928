/** `parley invite create`: make an invitation link (XEP-0401) from the command line. */
import { loadConfig } from "../config/load.ts";
import { hostConfigs } from "../config/schema.ts";
import { configureLogging } from "../log.ts";
import { parseJid } from "../jid.ts";
import { openStorage } from "../storage/open.ts";
import { CONFIG_HELP, CONFIG_OPTION, HELP_OPTION, parse } from "./args.ts";
import { CommandFailure, EXIT_CODES_HELP, EXIT_OK, UsageError } from "./exit.ts";
import { INVITES_STORE, InviteStore, parseDuration } from "../modules/invites/store.ts";
import { inviteUri, landingUrl } from "../modules/invites/uri.ts";
import { checkUsername } from "../modules/register/fields.ts";

export const HELP = `Usage: parley invite create [options]

Create an invitation and print its xmpp: URI and its web page. Whoever has
it may register an account even when open registration is off
(registration.enabled). The running server sees it at once (same storage).

Options:
${CONFIG_HELP}
      --host DOMAIN     The hosted domain to invite to (default: the first host,
                        or the inviter's)
      --expires TIME    How long it stays valid: 30m, 12h, 7d, 2w (default:
                        invites.ttlSeconds)
      --uses N          Accounts it may create (default 1)
      --inviter JID     A local account the new user and it subscribe to each
                        other (XEP-0379)
      --username NAME   The only username it may register
  -h, --help            Show this help

${EXIT_CODES_HELP}`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    options: {
      ...CONFIG_OPTION,
      ...HELP_OPTION,
      host: { type: "string" },
      expires: { type: "string" },
      uses: { type: "string" },
      inviter: { type: "string" },
      username: { type: "string" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(HELP);
    return EXIT_OK;
  }
  if (positionals.length !== 1 || positionals[0] !== "create") {
    throw new UsageError(
      positionals.length ? `unknown subcommand "${positionals[0]}"` : "missing subcommand (create)",
    );
  }
  const { config } = await loadConfig(values.config);
  if (config.storage.driver === "memory") {
    // Written to this process's memory, the invite would never reach the server.
    throw new CommandFailure(`storage.driver is "memory": the server could never see the invite`);
  }
  const hosts = hostConfigs(config).map((h) => h.domain);
  let inviter: string | undefined;
  let host = values.host?.toLowerCase() ?? hosts[0];
  if (values.inviter !== undefined) {
    const jid = parseJid(values.inviter);
    if (!jid || jid.local === undefined || jid.resource !== undefined) {
      throw new UsageError(`--inviter must be a bare account JID (user@domain)`);
    }
    inviter = jid.bare;
    if (values.host === undefined) host = jid.domain;
    if (jid.domain !== host) throw new UsageError(`--inviter must be an account of ${host}`);
  }
  if (!hosts.includes(host)) {
    throw new UsageError(`${host} is not hosted by this server (hosts: ${hosts.join(", ")})`);
  }
  const ttlMs = values.expires === undefined
    ? config.invites.ttlSeconds * 1000
    : parseDuration(values.expires);
  if (ttlMs === undefined) {
    throw new UsageError(`--expires: "${values.expires}" is not a duration like 7d`);
  }
  const uses = Number(values.uses ?? "1");
  if (!Number.isInteger(uses) || uses < 1 || uses > config.invites.maxUses) {
    throw new UsageError(`--uses must be a whole number from 1 to ${config.invites.maxUses}`);
  }
  let username: string | undefined;
  if (values.username !== undefined) {
    const checked = checkUsername(values.username);
    if (typeof checked !== "string") throw new UsageError(`--username: ${checked.text}`);
    username = checked;
  }
  await configureLogging({ level: "warning", format: config.log.format });
  const storage = openStorage(config);
  try {
    const store = new InviteStore(storage.map(host, INVITES_STORE));
    const invite = await store.create({
      inviter: inviter ?? "admin",
      ttlMs,
      uses,
      roster: inviter !== undefined,
      username,
    });
    console.log(inviteUri(host, invite));
    console.log(landingUrl(host, invite, config.invites.baseUrl, config.listeners.https.port));
    console.error(`Valid until ${new Date(invite.expires).toISOString()}, for ${uses} account(s).`);
    return EXIT_OK;
  } finally {
    await storage.close();
  }
}
