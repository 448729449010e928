/** Exit codes and the error that means "the command line was wrong". */

export const EXIT_OK = 0;
/** The operation itself failed: the account exists, a certificate check failed … */
export const EXIT_FAILURE = 1;
/** The command line or the configuration is wrong; nothing was attempted. */
export const EXIT_USAGE = 2;

export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  the operation failed (for example, the account already exists or does not exist)
  2  usage or configuration error (unknown command or option, bad JID, invalid config)`;

/** Thrown for bad arguments; main prints it with a pointer to --help and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** An operation failure with a message for the operator; main prints it and exits 1. */
export class CommandFailure extends Error {
  override name = "CommandFailure";
}
