/**
 * A WebSocket stream's input: messages → WsMessageReader → the sink, one
 * frame at a time and in order.
 *
 * A frame handler may return a promise (SASL hashing, storage): later
 * messages wait, unparsed, in a queue. A WebSocket in Deno cannot stop
 * reading (no pause, no backpressure on `onmessage`), so the bound on that
 * queue is what protects the server: past MAX_WAITING_MESSAGES messages or
 * the character bound below, the stream ends with policy-violation.
 *
 * The read rate (bytes/s token bucket, as on TCP) delays processing
 * instead of reading: a message that overdraws the bucket is handled only
 * once the bucket has refilled. A client that keeps sending faster than
 * the rate fills the queue and is closed by its bound; a burst under it is
 * only slowed down, as a TCP client would be by the paused socket.
 */
import { IdleSweep } from "../../util/idle_sweep.ts";
import { setImmediate } from "node:timers";
import { ReadRateBucket } from "../../net/read_rate.ts";
import type { FrameSink, TransportLimits } from "../transport.ts";
import { WsMessageReader } from "./framing.ts";
import { FrameRunner } from "../frame_runner.ts";

/** Messages that may wait behind a pending handler (or the read rate). */
const MAX_WAITING_MESSAGES = 1000;
/** Characters that may wait: as many stanzas' worth as TCP's FrameInput lets wait. */
const WAITING_STANZAS = 4;
const WAITING_SLACK = 256 * 1024;
/** Time one input may work in one event-loop turn before letting others run. */
const TURN_BUDGET_MS = 2;

/**
 * Idle inputs give back their parser's state (~2.5 KB each): one timer for
 * all of them checks every SWEEP_MS which saw no message since the last check.
 */
const SWEEP_MS = 2000;
const idle = new IdleSweep<WsInput>(SWEEP_MS);

export class WsInput {
  readonly #reader: WsMessageReader;
  readonly #bucket: ReadRateBucket | undefined;
  readonly #maxChars: number;
  #queue: string[] = [];
  #queuedChars = 0;
  /** Hands frames to the sink; `busy` while its promise is pending. */
  readonly #runner: FrameRunner;
  #stopped = false;
  #touched = false;
  /** Processing waits for the read rate until then (Date.now()); a timer is set. */
  #heldUntil = 0;
  #holdTimer: ReturnType<typeof setTimeout> | undefined;
  #scheduled = false;

  constructor(readonly sink: FrameSink, limits: TransportLimits) {
    this.#reader = new WsMessageReader(limits);
    const rate = limits.readRate;
    this.#bucket = rate && rate.bytesPerSecond > 0 ? new ReadRateBucket(rate) : undefined;
    this.#maxChars = WAITING_STANZAS * limits.maxStanzaSize + WAITING_SLACK;
    this.#runner = new FrameRunner(
      (frame) => sink.onFrame(frame),
      (err, frame) => sink.onError(err, frame),
      this.#settled,
    );
  }

  /** A text message arrived. */
  push(text: string): void {
    if (this.#stopped) return;
    if (!this.#touched) {
      this.#touched = true;
      idle.wake(this);
    }
    this.sink.onActivity?.();
    const wait = this.#bucket?.consume(text.length) ?? 0;
    if (wait > 0) this.#heldUntil = Math.max(this.#heldUntil, Date.now() + wait);
    this.#queue.push(text);
    this.#queuedChars += text.length;
    if (this.#queue.length > MAX_WAITING_MESSAGES || this.#queuedChars > this.#maxChars) {
      return this.#fatal("policy-violation", "Too much input waiting");
    }
    this.#pump();
  }

  /** A binary message: RFC 7395 §3.2 allows text messages only. */
  pushBinary(): void {
    if (this.#stopped) return;
    this.#fatal("bad-format", "XMPP over WebSocket uses text messages only");
  }

  /** A new stream follows (after SASL success). */
  restart(): void {
    this.#reader.restart();
  }

  /** Nothing more is parsed or handled. */
  stop(): void {
    this.#stopped = true;
    this.#queue = [];
    this.#queuedChars = 0;
    clearTimeout(this.#holdTimer);
    idle.forget(this);
  }

  /** For the sweeper: true once this input can leave the awake set. */
  sweep(): boolean {
    if (this.#stopped) return true;
    if (this.#touched || this.#runner.busy || this.#queue.length !== 0) {
      this.#touched = false;
      return false;
    }
    this.#reader.compact();
    return true;
  }

  /**
   * The stream ends now with `condition`, even while a handler is pending
   * (it may never settle); nothing waiting is handled.
   */
  #fatal(condition: "policy-violation" | "bad-format", text: string): void {
    this.#queue = [];
    this.#queuedChars = 0;
    this.#runner.run({ kind: "error", condition, text });
    this.stop();
  }

  #pump = (): void => {
    this.#scheduled = false;
    const deadline = performance.now() + TURN_BUDGET_MS;
    while (!this.#stopped && !this.#runner.busy && this.#queue.length !== 0) {
      const wait = this.#heldUntil - Date.now();
      if (wait > 0) {
        clearTimeout(this.#holdTimer);
        this.#holdTimer = setTimeout(this.#pump, wait);
        return;
      }
      if (performance.now() > deadline) {
        this.#scheduled = true;
        setImmediate(this.#pump);
        return;
      }
      const text = this.#queue.shift()!;
      this.#queuedChars -= text.length;
      const frame = this.#reader.read(text);
      if (frame === undefined) continue;
      // After its error frame the reader is useless: nothing more is read.
      if (frame.kind === "error" || frame.kind === "close") this.#stopped = true;
      this.#runner.run(frame);
    }
  };

  /** A pending handler settled: the messages behind it go on. */
  #settled = (): void => {
    if (!this.#scheduled) this.#pump();
  };
}
