/**
 * What the benchmarks' Parley servers (fanout/, login/, archive_server.ts)
 * share: start with benchServerConfig, say where they listen in one JSON
 * line on stdout (what the run scripts wait for), and close cleanly on
 * SIGTERM/SIGINT so the SQLite data directory is left consistent.
 */
import { benchServerConfig } from "../bench_config.ts";
import { type RunningServer, startServer } from "../../src/server.ts";

/** Closes `server` ("system-shutdown") and exits 0 on SIGTERM or SIGINT. */
export function closeOnSignal(server: RunningServer): void {
  const stop = async () => {
    await server.close("system-shutdown");
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
}

/**
 * A Parley on `port` with its data in `data` (none: a fresh temporary
 * directory named `tmpPrefix`…) and `extra` on top of the bench config;
 * prints `{c2s, dataDir, pid}` once listening, then serves until a signal.
 */
export async function serveBenchParley(
  port: number,
  data: string | undefined,
  tmpPrefix: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const dataDir = data ?? await Deno.makeTempDir({ prefix: tmpPrefix });
  const server = await startServer(benchServerConfig(port, dataDir, extra));
  console.log(JSON.stringify({ c2s: server.ports.c2s, dataDir, pid: Deno.pid }));
  closeOnSignal(server);
}
