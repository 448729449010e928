/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint runs
 * inside the COMMIT that crosses the threshold (1000 pages by default),
 * on the committing thread, and with synchronous=NORMAL it ends with an
 * fsync: measured on the bench VM, that made the average archive append
 * cost 2–3 times more and stalled the loop for up to 300 ms (see
 * bench/results/2026-12-06-archive-writes.md). A worker with its own
 * connection checkpoints instead, and the main connection's automatic
 * checkpoint is raised to a safety net for when the worker falls behind
 * or is gone.
 *
 * The worker runs from a data: URL built from its function's source
 * (checkpoint_worker.ts), so the bundle (dist/parley.js) and a compiled
 * executable carry it without any file beside them. Should it still fail
 * to start, it logs once and the safety net takes over.
 */
import { logger } from "../log.ts";
import { OncePerWindow } from "../util/once_per_window.ts";
import { checkpointWorkerUrl } from "./checkpoint_worker.ts";

const log = logger("storage");

/** How often the worker checkpoints. */
const INTERVAL_MS = 200;

/** The main connection's own threshold (pages, 4 KiB each): only reached if the worker lags. */
export const SAFETY_NET_PAGES = 16384;

export class Checkpointer {
  #worker: Worker;
  #closed: Promise<void>;
  #onClosed!: () => void;
  readonly #failureLog = new OncePerWindow();

  constructor(path: string) {
    this.#closed = new Promise((r) => this.#onClosed = r);
    this.#worker = new Worker(checkpointWorkerUrl(), {
      type: "module",
    });
    this.#worker.onmessage = (e: MessageEvent<"closed" | { error: string }>) => {
      if (e.data === "closed") this.#onClosed();
      else {
        // A checkpoint that keeps failing (a full disk) fails every interval:
        // a line a minute says so, with how many went unlogged.
        const silent = this.#failureLog.note("checkpoint");
        if (silent !== undefined) {
          log.warning("WAL checkpoint failed: {error} ({silent} more since)", {
            error: e.data.error,
            silent,
          });
        }
      }
    };
    this.#worker.onerror = (e) => {
      e.preventDefault();
      log.warning(
        "WAL checkpointer stopped: {error}; SQLite's own checkpoint (every {pages} pages) takes over",
        { error: e.message, pages: SAFETY_NET_PAGES },
      );
      this.#onClosed();
    };
    this.#worker.postMessage({ path, intervalMs: INTERVAL_MS });
  }

  /** Stops the worker (its connection closed first, so no checkpoint is cut short). */
  async close(): Promise<void> {
    this.#worker.postMessage("close");
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#closed,
      new Promise<void>((r) => timer = setTimeout(r, 2000)),
    ]);
    clearTimeout(timer);
    this.#worker.terminate();
  }
}
