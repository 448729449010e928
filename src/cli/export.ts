/** `parley export JID`: the account's own data as XEP-0227 XML. */
import { CONFIG_HELP, CONFIG_OPTION, HELP_OPTION, parse, positionals } from "./args.ts";
import { type Account, openAccount, openHost } from "./account.ts";
import { CommandFailure, EXIT_CODES_HELP, EXIT_FAILURE, EXIT_OK } from "./exit.ts";
import {
  DOCUMENT_END,
  DOCUMENT_START,
  type ExportCounts,
  exportUser,
  HOST_CLOSE,
  hostOpen,
} from "./export_user.ts";

export const HELP = `Usage: parley export JID [options]
       parley export --all DOMAIN [options]

Write everything stored for the account JID (user@domain), or with --all
for every account of the hosted DOMAIN, as XEP-0227 (Portable Import/Export
Format) XML: roster with groups and subscriptions, pending subscription
requests, vCard, private XML, offline messages, PEP nodes and items
(bookmarks among them), block list and message archive.
It can run while the server runs (SQLite is opened alongside it); a message
archived in the last second may be missing then.

No password material is written unless --with-credentials is given; then
the SCRAM keys (which let anyone who has the file try to guess the
password offline, and log in to another server that imports them) are
included as XEP-0227 scram-credentials. The file is created readable by
its owner only.

Options:
${CONFIG_HELP}
  -o, --output FILE     Write to FILE (default: standard output)
      --all             Export every account of DOMAIN (one <user/> each)
      --with-credentials
                        Include the account's SCRAM keys
  -h, --help            Show this help

${EXIT_CODES_HELP}`;

/** Text is collected up to this many characters before a write: few syscalls, bounded memory. */
const FLUSH_CHARS = 64 * 1024;

export async function run(args: string[]): Promise<number> {
  const { values, positionals: rest } = parse(args, {
    options: {
      ...CONFIG_OPTION,
      ...HELP_OPTION,
      output: { type: "string", short: "o" },
      all: { type: "boolean" },
      "with-credentials": { type: "boolean" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(HELP);
    return EXIT_OK;
  }
  const all = values.all === true;
  const [target] = positionals(rest, [all ? "DOMAIN" : "JID"]);
  const opened = all
    ? await openHost(target, values.config)
    : await openAccount(target, values.config);
  try {
    let users: string[];
    if (all) {
      const list = opened.storage.keyval(opened.host, "accounts").users;
      if (!list) {
        throw new CommandFailure(`the ${opened.storage.name} storage cannot list accounts`);
      }
      users = await list();
    } else {
      const account = opened as Account;
      if (!await account.provider.userExists(account.host, account.user)) {
        console.error(`parley export: ${account.jid} does not exist`);
        return EXIT_FAILURE;
      }
      users = [account.user];
    }
    const file = values.output;
    // Written beside the target and renamed at the end: an interrupted
    // export never leaves a file that looks complete.
    const partial = file === undefined ? undefined : file + ".partial";
    // A FILE.partial already there (an earlier run's, or a link planted
    // beside the target) is removed, not opened: opening would keep its
    // mode (the 0600 applies to a new file only) or write through the link.
    if (partial !== undefined) {
      await Deno.remove(partial).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
    const sink = partial === undefined
      ? Deno.stdout
      : await Deno.open(partial, { write: true, createNew: true, mode: 0o600 });
    const summaries: string[] = [];
    try {
      const out = bufferedWriter(sink);
      await out.write(DOCUMENT_START + hostOpen(opened.host));
      for (const user of users) {
        const counts = await exportUser(
          { storage: opened.storage, auth: opened.provider },
          opened.host,
          user,
          out.write,
          { withCredentials: values["with-credentials"] === true },
        );
        summaries.push(summary(counts));
      }
      await out.write(HOST_CLOSE + DOCUMENT_END);
      await out.flush();
    } finally {
      if (sink !== Deno.stdout) sink.close();
    }
    if (partial !== undefined && file !== undefined) await Deno.rename(partial, file);
    // With the XML on standard output, the summary goes to standard error.
    const report = file === undefined ? console.error : console.log;
    const to = file === undefined ? "" : ` to ${file}`;
    if (!all) {
      report(`Exported ${users[0]}@${opened.host}${to}: ${summaries[0]}.`);
    } else {
      report(`Exported ${users.length} accounts of ${opened.host}${to}.`);
      users.forEach((user, i) => report(`  ${user}: ${summaries[i]}`));
    }
    return EXIT_OK;
  } finally {
    await opened.close();
  }
}

function summary(c: ExportCounts): string {
  return `${c.rosterItems} roster items, ${c.vcard ? "a" : "no"} vCard, ` +
    `${c.privateElements} private XML elements, ${c.offlineMessages} offline messages, ` +
    `${c.pepNodes} PEP nodes with ${c.pepItems} items, ${c.blocked} blocked JIDs, ` +
    `${c.archived} archived messages`;
}

interface Writable {
  write(p: Uint8Array): Promise<number>;
}

function bufferedWriter(target: Writable) {
  const encoder = new TextEncoder();
  let pending: string[] = [];
  let size = 0;
  const flush = async () => {
    if (size === 0) return;
    const bytes = encoder.encode(pending.join(""));
    pending = [];
    size = 0;
    // write() may take part of the buffer: loop until all of it is out.
    for (let at = 0; at < bytes.length;) at += await target.write(bytes.subarray(at));
  };
  return {
    flush,
    write: async (text: string) => {
      pending.push(text);
      size += text.length;
      if (size >= FLUSH_CHARS) await flush();
    },
  };
}
