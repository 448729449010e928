/** `parley deluser JID`: delete an account and everything stored for it. */
import { CONFIG_HELP } from "./args.ts";
import { runAccountCommand } from "./account.ts";
import { removeAccountData } from "../core/accounts.ts";
import { removeUserUploadsOffline } from "../modules/upload/account_files.ts";
import { endLocalSubscriptionsOffline, removeUserInvitesOffline } from "./deluser_offline.ts";
import { EXIT_CODES_HELP, EXIT_FAILURE, EXIT_OK } from "./exit.ts";
import { adminRequest, AdminUnreachable } from "../reload/admin_client.ts";
import { adminSocketPath } from "../reload/admin_socket.ts";
import { DELUSER_COMMAND, type DeluserResult } from "../reload/admin_deluser.ts";
import type { Account } from "./account.ts";

export const HELP = `Usage: parley deluser JID [options]

Delete the account JID and all of its stored data (roster, archive, offline
messages, vCard, files uploaded over HTTP …). This cannot be undone. When
the server runs (its admin socket <dataDir>/parley.sock answers), the
server removes the account itself, as an in-band removal does: the user's
open sessions are closed and nothing of the account stays cached. Otherwise
the data is removed from the storage directly.

The name stays reserved for accounts.tombstoneDays (default 365): "parley
adduser" refuses it until then unless given --force.

Options:
${CONFIG_HELP}
  -h, --help          Show this help

${EXIT_CODES_HELP}`;

export function run(args: string[]): Promise<number> {
  return runAccountCommand(args, HELP, {}, async (account) => {
    const byServer = await deleteThroughServer(account);
    if (byServer !== undefined) return byServer;
    if (!await account.provider.userExists(account.host, account.user)) {
      console.error(`parley deluser: ${account.jid} does not exist`);
      return EXIT_FAILURE;
    }
    // Uploads, invites, contacts' subscriptions, tombstone, data, then
    // credentials: if this is interrupted, the account still exists and
    // running deluser again finishes the job. No modules run here, so what
    // theirs do when an account goes is done here (deluser_offline.ts);
    // the uploads are files beside the storage that only the upload
    // module knows.
    await removeUserUploadsOffline(account.config, account.host, account.user);
    const { config, storage, host, user } = account;
    await removeUserInvitesOffline(storage, host, user);
    await endLocalSubscriptionsOffline(config, storage, host, user);
    await removeAccountData(account.stores, account.host, account.user);
    console.log(`Deleted ${account.jid} and all of its data.`);
    return EXIT_OK;
  });
}

/**
 * The running server removes the account (its exit code), or undefined
 * when no server answers on the admin socket: then nothing was done.
 */
async function deleteThroughServer(account: Account): Promise<number | undefined> {
  let response;
  try {
    response = await adminRequest(adminSocketPath(account.config.dataDir), {
      command: DELUSER_COMMAND,
      jid: account.jid,
    });
  } catch (err) {
    // Not running: removed from storage here. Reached but silent: it may
    // be removing the account still, so this does not do it a second time.
    if (err instanceof AdminUnreachable && !err.connected) return undefined;
    console.error(`parley deluser: ${(err as Error).message ?? err}`);
    return EXIT_FAILURE;
  }
  if (!response.ok) {
    console.error(`parley deluser: the running server refused: ${response.error}`);
    return EXIT_FAILURE;
  }
  if (!(response.result as DeluserResult).deleted) {
    console.error(`parley deluser: ${account.jid} does not exist`);
    return EXIT_FAILURE;
  }
  console.log(`Deleted ${account.jid} and all of its data (by the running server).`);
  return EXIT_OK;
}
