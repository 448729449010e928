/**
 * A child `parley serve` announces each listener in its log ("c2s"
 * listening on [addr]:port). Both process helpers read the log this way:
 * to the end (so the child never blocks on a full pipe), collecting the
 * ports, started once the named listeners are up.
 */
export interface ListeningLog {
  /** Listener name → port, from the "listening on" lines. */
  ports: Record<string, number>;
  /** The log so far. */
  log(): string;
  /** Settles once every stream has ended. */
  reading: Promise<void>;
  /** Resolves once every listener in `waitFor` is up; rejects if the child exits or `ms` pass first. */
  started: Promise<void>;
}

export function readListeningLog(
  streams: ReadableStream<Uint8Array>[],
  waitFor: string[],
  /** Names the child in the errors ("server", "parley serve"). */
  what: string,
  ms: number,
): ListeningLog {
  let text = "";
  const ports: Record<string, number> = {};
  const started = Promise.withResolvers<void>();
  const read = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      for (const m of text.matchAll(/"([\w-]+)" listening on \[[^\]]*\]:(\d+)/g)) {
        ports[m[1]] = Number(m[2]);
      }
      if (waitFor.every((name) => ports[name])) started.resolve();
    }
  };
  const reading = Promise.all(streams.map(read)).then(() =>
    started.reject(new Error(`${what} exited:\n` + text))
  );
  const timer = setTimeout(() => started.reject(new Error(`${what} did not start:\n` + text)), ms);
  return {
    ports,
    log: () => text,
    reading,
    started: started.promise.finally(() => clearTimeout(timer)),
  };
}

/** Wait until the child has started; if it does not, stop it and throw why. */
export async function untilStarted(log: ListeningLog, stop: () => Promise<unknown>): Promise<void> {
  try {
    await log.started;
  } catch (err) {
    await stop();
    throw err;
  }
}
