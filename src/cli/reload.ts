/** `parley reload`: ask the running server to re-read its config and certificates. */
import { parse } from "./args.ts";
import { CONFIG_HELP, CONFIG_OPTION, HELP_OPTION } from "./args.ts";
import { ConfigError, inspectConfig } from "../config/load.ts";
import { adminSocketPath } from "../reload/admin_socket.ts";
import { adminRequest, AdminUnreachable } from "../reload/admin_client.ts";
import { formatReport, type ReloadReport } from "../reload/report.ts";
import { EXIT_CODES_HELP, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from "./exit.ts";

export const HELP = `Usage: parley reload [options]

Ask the running server (the one using this config's dataDir) to re-read its
config file and certificates, through its admin socket <dataDir>/parley.sock.
Nobody is disconnected: new and changed certificates are used for new
connections, hosts and modules are added or removed, log levels change.
Settings that need a restart (listeners, storage, dataDir) are listed and
left as they were. A config with errors is refused and the server keeps
running the old one; the errors are printed as "parley serve" prints them.
Sending SIGHUP to the server does the same.

Options:
${CONFIG_HELP}
      --socket PATH   The admin socket (default: <dataDir>/parley.sock)
  -h, --help          Show this help

${EXIT_CODES_HELP}`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    options: { ...CONFIG_OPTION, ...HELP_OPTION, socket: { type: "string" } },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(HELP);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  let socket = values.socket;
  if (socket === undefined) {
    // The dataDir of a config with errors is still found when the file parses at all;
    // the server then refuses the config and reports why.
    const inspection = await inspectConfig(values.config);
    if (inspection.config === undefined) throw new ConfigError(inspection.issues, inspection.path);
    socket = adminSocketPath(inspection.config.dataDir);
  }
  let response;
  try {
    response = await adminRequest(socket, { command: "reload" });
  } catch (err) {
    if (err instanceof AdminUnreachable) {
      console.error(`parley reload: ${err.message}`);
      return EXIT_FAILURE;
    }
    throw err;
  }
  if (!response.ok) {
    console.error(`parley reload: ${response.error}`);
    return EXIT_FAILURE;
  }
  const report = response.result as ReloadReport;
  if (!report.ok) {
    console.error(`parley reload: ${formatReport(report)}`);
    return EXIT_USAGE;
  }
  console.log(formatReport(report));
  return EXIT_OK;
}
