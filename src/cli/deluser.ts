/** `parley deluser JID`: delete an account and everything stored for it. */
import { CONFIG_HELP } from "./args.ts";
import { runAccountCommand } from "./account.ts";
import { removeAccountData } from "../core/accounts.ts";
import { removeUserUploadsOffline } from "../modules/upload/account_files.ts";
import { EXIT_CODES_HELP, EXIT_FAILURE, EXIT_OK } from "./exit.ts";

export const HELP = `Usage: parley deluser JID [options]

Delete the account JID and all of its stored data (roster, archive, offline
messages, vCard, files uploaded over HTTP …). This cannot be undone. Stop
the server first, or the user's open sessions keep running until they
disconnect and the server keeps what it has cached of the account (its PEP
nodes) until it restarts. On a running server, remove accounts in-band
(XEP-0077) or with the ad-hoc command instead.

The name stays reserved for accounts.tombstoneDays (default 365): "parley
adduser" refuses it until then unless given --force.

Options:
${CONFIG_HELP}
  -h, --help          Show this help

${EXIT_CODES_HELP}`;

export function run(args: string[]): Promise<number> {
  return runAccountCommand(args, HELP, {}, async (account) => {
    if (!await account.provider.userExists(account.host, account.user)) {
      console.error(`parley deluser: ${account.jid} does not exist`);
      return EXIT_FAILURE;
    }
    // Uploads, tombstone, data, then credentials: if this is interrupted, the
    // account still exists and running deluser again finishes the job. The
    // uploads are files beside the storage that only the upload module
    // knows, and no modules run here.
    await removeUserUploadsOffline(account.config, account.host, account.user);
    await removeAccountData(account.stores, account.host, account.user);
    console.log(`Deleted ${account.jid} and all of its data.`);
    return EXIT_OK;
  });
}
