/**
 * Parley as a child process (`main.ts serve`), for tests that measure the
 * server from outside: its RSS from /proc, its survival. Memory storage,
 * the insecure auth provider (accounts appear on first login), listeners
 * on 127.0.0.1 port 0, read back from the log.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { merge } from "./server.ts";

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
  const local = { interfaces: ["127.0.0.1"], port: 0 };
  const config = merge({
    hosts: ["localhost"],
    dataDir: join(dir, "data"),
    listeners: {
      c2s: local,
      c2sDirectTls: local,
      s2s: { enabled: false },
      http: local,
      https: local,
    },
    storage: { driver: "memory" },
    auth: { provider: "insecure" },
    s2s: { enabled: false },
    log: { level: "info" },
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
  let text = "";
  const ports: Record<string, number> = {};
  const started = Promise.withResolvers<void>();
  // Read the log to the end, so the child never blocks on a full pipe.
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      text += decoder.decode(chunk, { stream: true });
      for (const m of text.matchAll(/"([\w-]+)" listening on \[[^\]]*\]:(\d+)/g)) {
        ports[m[1]] = Number(m[2]);
      }
      if (ports["c2s"] && ports["c2sDirectTls"]) started.resolve();
    }
    started.reject(new Error("server exited:\n" + text));
  })();
  const timer = setTimeout(
    () => started.reject(new Error("server did not start:\n" + text)),
    START_MS,
  );
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    await reading;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await started.promise;
  } catch (err) {
    await stop();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return {
    pid: child.pid,
    ports,
    configFile: file,
    config,
    async rssKb() {
      const status = await Deno.readTextFile(`/proc/${child.pid}/status`).catch(() => "");
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    },
    log: () => text,
    stop,
  };
}
