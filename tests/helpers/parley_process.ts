/**
 * Any `parley` command line as a child process — `deno run -A <entry> …`
 * where the entry is main.ts or the bundle (dist/parley.js) — for tests
 * that run the CLI the way an operator does: one-shot commands with their
 * output, and `serve` with its listening ports read back from the log.
 */
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
  let text = "";
  const ports: Record<string, number> = {};
  const started = Promise.withResolvers<void>();
  const read = async (stream: ReadableStream<Uint8Array>) => {
    const streamDecoder = new TextDecoder();
    for await (const chunk of stream) {
      text += streamDecoder.decode(chunk, { stream: true });
      for (const m of text.matchAll(/"([\w-]+)" listening on \[[^\]]*\]:(\d+)/g)) {
        ports[m[1]] = Number(m[2]);
      }
      if (options.waitFor.every((name) => ports[name])) started.resolve();
    }
  };
  // Read both pipes to the end, so the child never blocks on a full one.
  const reading = Promise.all([read(child.stdout), read(child.stderr)]).then(() =>
    started.reject(new Error("parley serve exited:\n" + text))
  );
  const timer = setTimeout(
    () => started.reject(new Error("parley serve did not start:\n" + text)),
    START_MS,
  );
  let stopped: Promise<number> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const status = await child.status;
      await reading;
      return status.code;
    })();
  try {
    await started.promise;
  } catch (err) {
    await stop();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return { ports, log: () => text, stop };
}
