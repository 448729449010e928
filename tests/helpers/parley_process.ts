/**
 * Any `parley` command line as a child process — `deno run -A <entry> …`
 * where the entry is main.ts or the bundle (dist/parley.js) — for tests
 * that run the CLI the way an operator does: one-shot commands with their
 * output, and `serve` with its listening ports read back from the log.
 */
import { readListeningLog, untilStarted } from "./listening_log.ts";

const decoder = new TextDecoder();
const START_MS = 30_000;

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `deno run -A entry ...args` in `cwd`, with `stdin` written then closed. */
export async function runParley(
  entry: string,
  args: string[],
  options: { cwd: string; stdin?: string },
): Promise<CommandResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", entry, ...args],
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/**
 * The config a child `parley serve` runs with in these tests: client and
 * HTTP listeners on 127.0.0.1 with ports the OS picks (read back from the
 * log), no s2s, info log (where the "listening on" lines are).
 */
export function childConfig(hosts: string[], dataDir: string): Record<string, unknown> {
  const local = { interfaces: ["127.0.0.1"], port: 0 };
  return {
    hosts,
    dataDir,
    listeners: {
      c2s: local,
      c2sDirectTls: local,
      s2s: { enabled: false },
      http: local,
      https: local,
    },
    s2s: { enabled: false },
    log: { level: "info" },
  };
}

export interface ServeProcess {
  /** Listener name → port, from the "listening on" log lines. */
  ports: Record<string, number>;
  /** The log so far (stdout and stderr). */
  log(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number>;
}

/** `deno run -A entry serve ...args` in `cwd`, once the listeners named in `waitFor` are up. */
export async function startParleyServe(
  entry: string,
  args: string[],
  options: { cwd: string; waitFor: string[] },
): Promise<ServeProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", entry, "serve", ...args],
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const log = readListeningLog(
    [child.stdout, child.stderr],
    options.waitFor,
    "parley serve",
    START_MS,
  );
  let stopped: Promise<number> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const status = await child.status;
      await log.reading;
      return status.code;
    })();
  await untilStarted(log, stop);
  return { ports: log.ports, log: log.log, stop };
}
