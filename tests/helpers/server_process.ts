/**
 * Parley as a child process (`main.ts serve`), for tests that measure the
 * server from outside: its RSS from /proc, its survival. Memory storage,
 * the insecure auth provider (accounts appear on first login), listeners
 * on 127.0.0.1 port 0, read back from the log.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { merge } from "./server.ts";
import { childConfig } from "./parley_process.ts";
import { readListeningLog, untilStarted } from "./listening_log.ts";

export interface ServerProcess {
  pid: number;
  ports: Record<string, number>;
  /** The config file the child runs with (a test may rewrite it, then reload). */
  configFile: string;
  /** The config the file was written with (parsed JSON, before defaults). */
  config: Record<string, unknown>;
  /** Resident set size in KiB (VmRSS). */
  rssKb(): Promise<number>;
  /** The log so far (stderr). */
  log(): string;
  stop(): Promise<void>;
}

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));
const START_MS = 20_000;

export async function startServerProcess(
  overrides: Record<string, unknown> = {},
  /** Extra `deno run` flags for the child (e.g. V8 flags). */
  runFlags: string[] = [],
): Promise<ServerProcess> {
  const dir = await Deno.makeTempDir({ prefix: "parley-proc-" });
  const config = merge({
    ...childConfig(["localhost"], join(dir, "data")),
    storage: { driver: "memory" },
    auth: { provider: "insecure" },
  }, overrides);
  const file = join(dir, "config.json");
  await Deno.writeTextFile(file, JSON.stringify(config));
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      ...runFlags,
      ...(Deno.env.get("PARLEY_PROC_FLAGS")?.split(" ").filter(Boolean) ?? []),
      MAIN,
      "serve",
      "-c",
      file,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log = readListeningLog([child.stderr], ["c2s", "c2sDirectTls"], "server", START_MS);
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    await log.reading;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  await untilStarted(log, stop);
  return {
    pid: child.pid,
    ports: log.ports,
    configFile: file,
    config,
    async rssKb() {
      const status = await Deno.readTextFile(`/proc/${child.pid}/status`).catch(() => "");
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    },
    log: log.log,
    stop,
  };
}
