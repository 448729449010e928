/**
 * The checkpointer's thread (see checkpointer.ts): its own connection to
 * the database file, copying the WAL back into the database every
 * `intervalMs` with a PASSIVE checkpoint (never waits for the writer or
 * readers, so the main connection never waits for it either).
 *
 * The worker is started from a `data:` URL holding this function's source
 * (checkpointer.ts), not from this file: `deno bundle` output and `deno
 * compile` executables have no source files beside them, and a data: URL
 * works the same under `deno run`, in the bundle and in an executable.
 * So the function must be self-contained: no imports, no module-level
 * names; it gets `node:sqlite`'s DatabaseSync as an argument.
 */

/** The part of `node:sqlite`'s DatabaseSync the worker uses. */
export interface CheckpointDatabase {
  exec(sql: string): void;
  close(): void;
}

export interface CheckpointWorkerScope {
  onmessage: ((e: MessageEvent<{ path: string; intervalMs: number } | "close">) => void) | null;
  postMessage(message: unknown): void;
  close(): void;
}

export function checkpointWorkerMain(
  scope: CheckpointWorkerScope,
  DatabaseSync: new (path: string) => CheckpointDatabase,
): void {
  let db: CheckpointDatabase | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const checkpoint = (intervalMs: number): void => {
    try {
      db?.exec("PRAGMA wal_checkpoint(PASSIVE)");
    } catch (e) {
      scope.postMessage({ error: String(e) });
    }
    timer = setTimeout(() => checkpoint(intervalMs), intervalMs);
  };

  scope.onmessage = (e) => {
    if (e.data === "close") {
      clearTimeout(timer);
      try {
        db?.close();
      } finally {
        db = undefined;
        scope.postMessage("closed");
        scope.close();
      }
      return;
    }
    try {
      db = new DatabaseSync(e.data.path);
      checkpoint(e.data.intervalMs);
    } catch (err) {
      scope.postMessage({ error: String(err) });
    }
  };
}

/**
 * The worker module's source: imports DatabaseSync and runs
 * checkpointWorkerMain. `Function.prototype.toString` gives the function
 * as the runtime holds it (already JavaScript, whether transpiled by
 * `deno run` or bundled).
 */
export function checkpointWorkerUrl(): string {
  const source = `import { DatabaseSync } from "node:sqlite";\n` +
    `(${checkpointWorkerMain.toString()})(globalThis, DatabaseSync);\n`;
  return `data:text/javascript;charset=utf-8,${encodeURIComponent(source)}`;
}
