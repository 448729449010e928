/** `parley passwd JID`: set a new password. */
import { CONFIG_HELP } from "./args.ts";
import { runAccountCommand } from "./account.ts";
import { readNewPassword } from "./password.ts";
import { EXIT_CODES_HELP, EXIT_FAILURE, EXIT_OK } from "./exit.ts";

export const HELP = `Usage: parley passwd JID [options]

Set a new password for the existing account JID. The password is read from
the first line of standard input when it is not a terminal; otherwise it is
asked for twice, without echo. Sessions already logged in stay connected.

Options:
${CONFIG_HELP}
      --password-stdin  Read the password from standard input even if it is a terminal
  -h, --help            Show this help

${EXIT_CODES_HELP}`;

export function run(args: string[]): Promise<number> {
  return runAccountCommand(args, HELP, { passwordStdin: true }, async (account, flags) => {
    if (!await account.provider.userExists(account.host, account.user)) {
      console.error(`parley passwd: ${account.jid} does not exist`);
      return EXIT_FAILURE;
    }
    const password = await readNewPassword({ fromStdin: flags.passwordFromStdin });
    if (!await account.provider.setPassword(account.host, account.user, password)) {
      console.error(`parley passwd: ${account.jid} does not exist`);
      return EXIT_FAILURE;
    }
    console.log(`Password of ${account.jid} changed.`);
    return EXIT_OK;
  });
}
