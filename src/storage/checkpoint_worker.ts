/**
 * The checkpointer's thread (see checkpointer.ts): its own connection to
 * the database file, copying the WAL back into the database every
 * `intervalMs` with a PASSIVE checkpoint (never waits for the writer or
 * readers, so the main connection never waits for it either).
 */
import { DatabaseSync } from "node:sqlite";

interface Start {
  path: string;
  intervalMs: number;
}

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<Start | "close">) => void) | null;
  postMessage(message: unknown): void;
  close(): void;
};

let db: DatabaseSync | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;

function checkpoint(intervalMs: number): void {
  try {
    db?.exec("PRAGMA wal_checkpoint(PASSIVE)");
  } catch (e) {
    scope.postMessage({ error: String(e) });
  }
  timer = setTimeout(() => checkpoint(intervalMs), intervalMs);
}

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
