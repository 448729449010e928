/** `parley adduser JID`: create an account. */
import { CONFIG_HELP } from "./args.ts";
import { runAccountCommand } from "./account.ts";
import { readNewPassword } from "./password.ts";
import { EXIT_CODES_HELP, EXIT_FAILURE, EXIT_OK } from "./exit.ts";

export const HELP = `Usage: parley adduser JID [options]

Create the account JID (user@domain; the domain must be a hosted one).
The password is read from the first line of standard input when it is not a
terminal; otherwise it is asked for twice, without echo.

Options:
${CONFIG_HELP}
      --password-stdin  Read the password from standard input even if it is a terminal
  -h, --help            Show this help

${EXIT_CODES_HELP}`;

export function run(args: string[]): Promise<number> {
  return runAccountCommand(args, HELP, true, async (account, passwordFromStdin) => {
    // Checked before asking for a password the operator would type for nothing.
    if (await account.provider.userExists(account.host, account.user)) {
      console.error(
        `parley adduser: ${account.jid} already exists (use "parley passwd" to change the password)`,
      );
      return EXIT_FAILURE;
    }
    const password = await readNewPassword({ fromStdin: passwordFromStdin });
    if (!await account.provider.createUser(account.host, account.user, password)) {
      console.error(`parley adduser: ${account.jid} already exists`);
      return EXIT_FAILURE;
    }
    console.log(`Created ${account.jid}.`);
    return EXIT_OK;
  });
}
