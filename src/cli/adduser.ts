/** `parley adduser JID`: create an account. */
import { CONFIG_HELP } from "./args.ts";
import { runAccountCommand } from "./account.ts";
import { readNewPassword } from "./password.ts";
import { createAccount } from "../core/accounts.ts";
import { EXIT_CODES_HELP, EXIT_FAILURE, EXIT_OK } from "./exit.ts";

export const HELP = `Usage: parley adduser JID [options]

Create the account JID (user@domain; the domain must be a hosted one).
The password is read from the first line of standard input when it is not a
terminal; otherwise it is asked for twice, without echo.

The name of a deleted account stays reserved for accounts.tombstoneDays
(default 365), so that nobody new inherits the trust its contacts gave it;
--force creates it anyway (for the same person, or when you are sure).

Options:
${CONFIG_HELP}
      --password-stdin  Read the password from standard input even if it is a terminal
      --force           Create the account even if the name belonged to a deleted account
  -h, --help            Show this help

${EXIT_CODES_HELP}`;

export function run(args: string[]): Promise<number> {
  return runAccountCommand(
    args,
    HELP,
    { passwordStdin: true, force: true },
    async (account, flags) => {
      // Checked before asking for a password the operator would type for nothing.
      if (await account.provider.userExists(account.host, account.user)) {
        console.error(
          `parley adduser: ${account.jid} already exists (use "parley passwd" to change the password)`,
        );
        return EXIT_FAILURE;
      }
      const reserved = flags.force
        ? undefined
        : await account.stores.tombstones.reservedUntil(account.host, account.user);
      if (reserved !== undefined) return refuseReserved(account.jid, reserved);
      const password = await readNewPassword({ fromStdin: flags.passwordFromStdin });
      const result = await createAccount(
        account.stores,
        account.host,
        account.user,
        password,
        flags.force,
      );
      if (!result.created) {
        if (result.reason === "reserved") return refuseReserved(account.jid, result.until);
        console.error(`parley adduser: ${account.jid} already exists`);
        return EXIT_FAILURE;
      }
      console.log(`Created ${account.jid}.`);
      return EXIT_OK;
    },
  );
}

function refuseReserved(jid: string, until: number): number {
  console.error(
    `parley adduser: ${jid} belonged to a deleted account; the name is reserved until ` +
      `${new Date(until).toISOString()} so that nobody new inherits its contacts' trust ` +
      `(use --force to create it anyway)`,
  );
  return EXIT_FAILURE;
}
