/**
 * A Parley for the MUC and PEP fan-out benchmark
 * (bench/results/2026-12-06-muc-pep-fanout.md).
 *
 *   deno run -A bench/fanout/parley_server.ts --port 15322 --data /tmp/parley-fanout
 *
 * The defaults, with what a benchmark needs lifted: in-band registration on
 * without its per-IP cap (the generator registers its users), connection
 * and auth-failure limits raised, the c2s read rate off, and the MUC
 * per-occupant rate limit off (`muc.messagesPerSecond: 0`: one occupant
 * sends every message). `muc.maxOccupants` stays at its default (1000, the
 * room holds 500). SQLite in `--data`, log level warning. Prints one JSON
 * line with the port once listening, then serves until SIGTERM/SIGINT.
 */
import { parseArgs } from "node:util";
import { benchServerConfig } from "../bench_config.ts";
import { startServer } from "../../src/server.ts";

const { values: opts } = parseArgs({
  options: {
    port: { type: "string", default: "15322" },
    data: { type: "string" },
  },
});
const dataDir = opts.data ?? await Deno.makeTempDir({ prefix: "parley-fanout-" });
const config = benchServerConfig(Number(opts.port), dataDir, { muc: { messagesPerSecond: 0 } });
const server = await startServer(config);
console.log(JSON.stringify({ c2s: server.ports.c2s, dataDir, pid: Deno.pid }));
const stop = async () => {
  await server.close("system-shutdown");
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
