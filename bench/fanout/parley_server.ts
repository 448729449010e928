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
import { serveBenchParley } from "../shared/parley_server.ts";

const { values: opts } = parseArgs({
  options: {
    port: { type: "string", default: "15322" },
    data: { type: "string" },
  },
});
await serveBenchParley(Number(opts.port), opts.data, "parley-fanout-", {
  muc: { messagesPerSecond: 0 },
});
