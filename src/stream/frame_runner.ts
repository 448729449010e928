/**
 * Hands an input's frames to its handler one at a time, in order — the
 * part TCP's FrameInput and WebSocket's WsInput share. A handler that
 * returns a promise (SASL hashing, storage) makes the runner `busy` until
 * it settles; `onSettled` then lets the input go on. What a handler
 * throws or rejects with goes to `onError` with its frame, and never
 * becomes an unhandled rejection.
 *
 * Only one handler is pending at a time, so its frame waits in a field:
 * a pending frame costs one `then`, not a closure and a promise chain.
 */
import type { Frame } from "../xml/parser.ts";
import { logger } from "../log.ts";

const log = logger("net");

export type FrameHandler = (frame: Frame) => void | Promise<void>;

export class FrameRunner {
  /** The frame whose handler's promise is pending. */
  #pending: Frame | undefined;

  constructor(
    readonly handle: FrameHandler,
    /**
     * What a handler threw or rejected with (a StreamError, usually), and
     * the frame it was handling: the owner decides whether the stream
     * ends or only that frame is answered.
     */
    readonly onError: (err: unknown, frame: Frame) => void,
    /** A pending handler settled (after `onError` if it rejected): the input may go on. */
    readonly onSettled: () => void,
  ) {}

  /** A handler's promise is pending: the input hands over nothing else until it settles. */
  get busy(): boolean {
    return this.#pending !== undefined;
  }

  run(frame: Frame): void {
    let pending: void | Promise<void>;
    try {
      pending = this.handle(frame);
    } catch (err) {
      return this.#failed(err, frame);
    }
    if (pending === undefined) return;
    if (this.#pending !== undefined) {
      // Only the input's last frame (its error, once too much waits) runs
      // beside a pending one; the input stops right after, so nothing waits
      // for this one, but its failure is still handed on.
      pending.then(undefined, (err) => this.#failed(err, frame));
      return;
    }
    this.#pending = frame;
    pending.then(this.#settled, this.#rejected);
  }

  #settled = (): void => {
    this.#pending = undefined;
    this.onSettled();
  };

  #rejected = (err: unknown): void => {
    this.#failed(err, this.#pending!);
    this.#settled();
  };

  /** Hand a failure to the owner; if the owner's handling throws, log it (never reject). */
  #failed(err: unknown, frame: Frame): void {
    try {
      this.onError(err, frame);
    } catch (again) {
      log.error("handling a failed {kind} frame failed: {again} (the failure: {err})", {
        kind: frame.kind,
        again,
        err,
      });
    }
  }
}
