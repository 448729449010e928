/**
 * The process's last line of defence while serving. An unhandled promise
 * rejection or an uncaught exception ends a Deno process by default, and
 * one bug reached by one peer's stanza must not stop service for
 * everybody. The router, the event hub and each stream's input already
 * catch what a handler throws, sync or async, with the stanza's session
 * in the log line; what still escapes lands here: logged, and the process
 * keeps serving.
 *
 * Verified on Deno 2.9.6: `preventDefault()` on the global
 * `unhandledrejection` and `error` events keeps the process alive for a
 * rejected promise, a throw in a timer or microtask, and a throw inside a
 * `node:net` socket's `data` listener (tests/unit/last_resort_test.ts).
 */
import { type Logger, logger } from "../log.ts";

/** Install the handlers; returns a function that removes them. */
export function installLastResort(log: Logger = logger("main")): () => void {
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    log.error("Unhandled promise rejection (still serving): {err}", { err: e.reason });
  };
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    log.error("Uncaught exception (still serving): {err}", { err: e.error ?? e.message });
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  globalThis.addEventListener("error", onError);
  return () => {
    globalThis.removeEventListener("unhandledrejection", onRejection);
    globalThis.removeEventListener("error", onError);
  };
}
