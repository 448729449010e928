/**
 * The `parley` command line. Commands are imported on demand so `parley
 * version` does not load the server; the specifiers are literal strings so
 * `deno compile` still finds and embeds every module.
 */
import { ConfigError } from "../config/load.ts";
import {
  CommandFailure,
  EXIT_CODES_HELP,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  UsageError,
} from "./exit.ts";

interface Command {
  HELP: string;
  run(args: string[]): Promise<number>;
}

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  serve: { summary: "Run the XMPP server", load: () => import("./serve.ts") },
  adduser: { summary: "Create an account", load: () => import("./adduser.ts") },
  passwd: { summary: "Set an account's password", load: () => import("./passwd.ts") },
  deluser: { summary: "Delete an account and all its data", load: () => import("./deluser.ts") },
  invite: { summary: "Create an invitation link", load: () => import("./invite.ts") },
  export: {
    summary: "Write an account's data as XEP-0227 XML",
    load: () => import("./export.ts"),
  },
  check: {
    summary: "Check the config, certificates and DNS records to publish",
    load: () => import("./check.ts"),
  },
  import: {
    summary: "Import accounts and data from Prosody (dry run unless --apply)",
    load: () => import("./import_prosody.ts"),
  },
  reload: {
    summary: "Make the running server re-read its config and certificates",
    load: () => import("./reload.ts"),
  },
  version: { summary: "Print the version", load: () => import("./version.ts") },
};

export const HELP = `Parley, an XMPP server

Usage: parley <command> [options]

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`).join("\n")}

Options:
  -h, --help     Show this help; "parley <command> --help" explains a command
  -V, --version  Print the version

The configuration is described in docs/configuration.md.

${EXIT_CODES_HELP}`;

export async function runCli(args: string[]): Promise<number> {
  const [first, ...rest] = args;
  if (first === undefined) {
    console.error(HELP);
    return EXIT_USAGE;
  }
  if (first === "-h" || first === "--help") {
    console.log(HELP);
    return EXIT_OK;
  }
  if (first === "help") {
    if (rest.length === 0) {
      console.log(HELP);
      return EXIT_OK;
    }
    return await runCli([rest[0], "--help"]);
  }
  const name = first === "-V" || first === "--version" ? "version" : first;
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    console.error(
      first.startsWith("-")
        ? `parley: unknown option "${first}"`
        : `parley: unknown command "${first}"`,
    );
    console.error(`Run "parley --help" for the list of commands.`);
    return EXIT_USAGE;
  }
  try {
    return await (await command.load()).run(name === first ? rest : []);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`parley ${name}: ${e.message}`);
      console.error(`Run "parley ${name} --help" for usage.`);
      return EXIT_USAGE;
    }
    if (e instanceof ConfigError) {
      console.error(`parley ${name}: ${e.message}`);
      return EXIT_USAGE;
    }
    if (e instanceof CommandFailure) {
      console.error(`parley ${name}: ${e.message}`);
      return EXIT_FAILURE;
    }
    console.error(`parley ${name}: ${e instanceof Error ? (e.stack ?? e.message) : e}`);
    return EXIT_FAILURE;
  }
}
