/**
 * A Parley for the login benchmark (bench/results/2026-12-06-logins.md):
 * bench/bench_config.ts (defaults, in-band registration and auth limits
 * lifted for the generator), SQLite in `--data`. `--extra` is JSON merged
 * on top per top-level key. Prints one JSON line once listening, then
 * serves until SIGTERM/SIGINT.
 *   deno run -A bench/login/parley_server.ts --port 15422 --data /tmp/parley-login
 */
import { parseArgs } from "node:util";
import { benchServerConfig } from "../bench_config.ts";
import { startServer } from "../../src/server.ts";

const { values: opts } = parseArgs({
  options: {
    port: { type: "string", default: "15422" },
    data: { type: "string" },
    extra: { type: "string", default: "{}" },
  },
});
const dataDir = opts.data ?? await Deno.makeTempDir({ prefix: "parley-login-" });
const config = benchServerConfig(Number(opts.port), dataDir, JSON.parse(opts.extra!));
const server = await startServer(config);
console.log(JSON.stringify({ c2s: server.ports.c2s, dataDir, pid: Deno.pid }));
const stop = async () => {
  await server.close("system-shutdown");
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
