/** `parley export JID`: the account's own data as XEP-0227 XML. */
import { CONFIG_HELP, CONFIG_OPTION, HELP_OPTION, parse, positionals } from "./args.ts";
import { openAccount } from "./account.ts";
import { EXIT_CODES_HELP, EXIT_FAILURE, EXIT_OK } from "./exit.ts";
import {
  DOCUMENT_END,
  DOCUMENT_START,
  type ExportCounts,
  exportUser,
  HOST_CLOSE,
  hostOpen,
} from "./export_user.ts";

export const HELP = `Usage: parley export JID [options]

Write everything stored for the account JID (user@domain) as XEP-0227
(Portable Import/Export Format) XML: roster with groups and subscriptions,
pending subscription requests, vCard, private XML, offline messages, PEP
nodes and items (bookmarks among them), block list and message archive.
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
      "with-credentials": { type: "boolean" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(HELP);
    return EXIT_OK;
  }
  const [jid] = positionals(rest, ["JID"]);
  const account = await openAccount(jid, values.config);
  try {
    if (!await account.provider.userExists(account.host, account.user)) {
      console.error(`parley export: ${account.jid} does not exist`);
      return EXIT_FAILURE;
    }
    const file = values.output;
    // Written beside the target and renamed at the end: an interrupted
    // export never leaves a file that looks complete.
    const partial = file === undefined ? undefined : file + ".partial";
    const target = partial === undefined
      ? Deno.stdout
      : await Deno.open(partial, { write: true, create: true, truncate: true, mode: 0o600 });
    let counts: ExportCounts;
    try {
      const out = bufferedWriter(target);
      await out.write(DOCUMENT_START + hostOpen(account.host));
      counts = await exportUser(
        { storage: account.storage, auth: account.provider },
        account.host,
        account.user,
        out.write,
        { withCredentials: values["with-credentials"] === true },
      );
      await out.write(HOST_CLOSE + DOCUMENT_END);
      await out.flush();
    } finally {
      if (target !== Deno.stdout) target.close();
    }
    if (partial !== undefined && file !== undefined) await Deno.rename(partial, file);
    // With the XML on standard output, the summary goes to standard error.
    (file === undefined ? console.error : console.log)(summary(account.jid, file, counts));
    return EXIT_OK;
  } finally {
    await account.close();
  }
}

function summary(jid: string, file: string | undefined, c: ExportCounts): string {
  return `Exported ${jid}${file === undefined ? "" : ` to ${file}`}: ` +
    `${c.rosterItems} roster items, ${c.vcard ? "a" : "no"} vCard, ` +
    `${c.privateElements} private XML elements, ${c.offlineMessages} offline messages, ` +
    `${c.pepNodes} PEP nodes with ${c.pepItems} items, ${c.blocked} blocked JIDs, ` +
    `${c.archived} archived messages.`;
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
