/**
 * A Parley for the archive write benchmark (bench/results/2026-12-06-archive-writes.md),
 * driven by the shared load generator (/work/shared/bench, `msgw`).
 *
 *   deno run -A bench/archive_server.ts --port 17222 --data /tmp/arch-on --archive on
 *
 * With `--archive on` a stand-in for the MAM module (not a module of
 * src/modules: loaded only here) appends two archive rows per chat message
 * with a body, as XEP-0313 archiving does: the sender's copy on its host
 * (`pre-message/*`) and the recipient's copy on its host (`message/*`),
 * both at MAM's priority 10, the stanza text serialized once. Otherwise the
 * same server without it. SQLite in `--data`, in-band registration on (for
 * prepare_users.sh), the rate limits lifted, as in the issue 9 A/B run.
 * Prints one JSON line with the port once listening, then serves until killed.
 */
import { parseArgs } from "node:util";
import { benchServerConfig } from "./bench_config.ts";
import { startServer } from "../src/server.ts";
import { closeOnSignal } from "./shared/parley_server.ts";
import type { StanzaEvent } from "../src/core/router.ts";
import type { Element } from "../src/xml/element.ts";

const { values: opts } = parseArgs({
  options: {
    port: { type: "string", default: "17222" },
    data: { type: "string" },
    archive: { type: "string", default: "on" },
    /** storage.commitIntervalMs (default: the config default). */
    "commit-interval": { type: "string" },
  },
});
const dataDir = opts.data ?? await Deno.makeTempDir({ prefix: "parley-archive-bench-" });
const config = benchServerConfig(
  Number(opts.port),
  dataDir,
  opts["commit-interval"] === undefined
    ? {}
    : { storage: { commitIntervalMs: Number(opts["commit-interval"]) } },
);
const server = await startServer(config);

/** Chat or normal with a body: what MAM archives (the stand-in's whole rule). */
function archivable(stanza: Element): boolean {
  const type = stanza.attr("type") ?? "normal";
  return (type === "chat" || type === "normal") && stanza.getChild("body") !== undefined;
}

let failures = 0;
const report = (e: unknown) => {
  if (failures++ < 5) console.error("archive append failed:", e);
};

if (opts.archive === "on") {
  /** Serialized once per message, reused for the recipient's copy. */
  const texts = new WeakMap<Element, string>();
  for (const host of server.hosts.values()) {
    const archive = server.storage.archive(host.domain, "mam");
    const sent = (ev: StanzaEvent) => {
      const user = ev.origin?.username;
      if (!user || !ev.to || !archivable(ev.stanza)) return;
      const text = ev.stanza.toString();
      texts.set(ev.stanza, text);
      archive.append(user, { with: ev.to.bare, value: text }).catch(report);
    };
    const received = (ev: StanzaEvent) => {
      const user = ev.to?.local;
      if (!user || !archivable(ev.stanza)) return;
      const from = ev.stanza.attr("from");
      const text = texts.get(ev.stanza) ?? ev.stanza.toString();
      archive.append(user, { with: from?.split("/")[0], value: text }).catch(report);
    };
    for (const kind of ["bare", "full"]) {
      host.events.on(`pre-message/${kind}`, sent, 10);
      host.events.on(`message/${kind}`, received, 10);
    }
  }
}

console.log(JSON.stringify({ c2s: server.ports.c2s, archive: opts.archive, dataDir }));
closeOnSignal(server);
