/**
 * A Parley for the login benchmark (bench/results/2026-12-06-logins.md):
 * bench/bench_config.ts (defaults, in-band registration and auth limits
 * lifted for the generator), SQLite in `--data`. `--extra` is JSON merged
 * on top per top-level key. Prints one JSON line once listening, then
 * serves until SIGTERM/SIGINT.
 *   deno run -A bench/login/parley_server.ts --port 15422 --data /tmp/parley-login
 */
import { parseArgs } from "node:util";
import { serveBenchParley } from "../shared/parley_server.ts";

const { values: opts } = parseArgs({
  options: {
    port: { type: "string", default: "15422" },
    data: { type: "string" },
    extra: { type: "string", default: "{}" },
  },
});
await serveBenchParley(Number(opts.port), opts.data, "parley-login-", JSON.parse(opts.extra!));
