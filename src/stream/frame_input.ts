/**
 * A connection's input: bytes → streaming UTF-8 decoder → XmlFrameParser
 * → the stream handler, one frame at a time and in order.
 *
 * It replaced a TextDecoderStream → web-streams parser pipeline. Measured with the shared load generator, the web-streams
 * chain cost ~20 KB per idle connection (65 KB per TLS session against
 * Prosody's 47), and each chunk paid several promise hops; frames here
 * reach the handler inside the socket's `data` event.
 *
 * A handler may return a promise (SASL hashing, storage): frames parsed
 * meanwhile wait in a short queue, and the owner is told to stop reading
 * when that queue fills.
 */
import { type Frame, type ParserOptions, XmlFrameParser } from "../xml/parser.ts";

/** Frames queued behind a slow handler before reading pauses. */
const QUEUE_LIMIT = 32;

/** The parser limits a stream applies (`c2s.maxStanzaSize`, `c2s.maxStanzaDepth`). */
export type StreamLimits = Pick<ParserOptions, "maxStanzaSize" | "maxStanzaDepth">;

/**
 * Server-to-server and component streams carry what a server wrapped
 * around a client's stanza (a forwarded carbon, a MAM result: 2 levels
 * each); refusing it would tear down the link for every user behind it.
 */
export const RELAY_DEPTH_ALLOWANCE = 8;

export function relayLimits(limits: StreamLimits): StreamLimits {
  return {
    maxStanzaSize: limits.maxStanzaSize,
    maxStanzaDepth: limits.maxStanzaDepth + RELAY_DEPTH_ALLOWANCE,
  };
}

/**
 * Idle inputs give back their parser state (XmlFrameParser.compact):
 * measured with the load generator, that is ~2.5 KB of the ~50 KB an idle
 * TLS session costs. One timer for all connections checks, every
 * SWEEP_MS, which inputs saw no data since the previous check.
 */
const SWEEP_MS = 2000;
const awake = new Set<FrameInput>();
let sweeper: ReturnType<typeof setInterval> | undefined;

function sweep(): void {
  for (const input of awake) if (input.sweep()) awake.delete(input);
  if (awake.size === 0) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

function wake(input: FrameInput): void {
  awake.add(input);
  if (sweeper === undefined) {
    // Unref'd: never keep the process alive just to compact parsers.
    sweeper = setInterval(sweep, SWEEP_MS).unref();
  }
}

export type FrameHandler = (frame: Frame) => void | Promise<void>;

export class FrameInput {
  #decoder = new TextDecoder("utf-8", { fatal: true });
  #parser: XmlFrameParser;
  #queue: Frame[] = [];
  #busy = false;
  #stopped = false;
  /** Invalid UTF-8 arrived: nothing after it is read. */
  #undecodable = false;
  #backlogged = false;
  /** Data arrived since the last sweep. */
  #touched = false;

  constructor(
    readonly handle: FrameHandler,
    limits: StreamLimits,
    /** Called with true when the queue is full, false once it drained. */
    readonly onBacklog: (full: boolean) => void,
    /** What a handler threw or rejected with (a StreamError, usually). */
    readonly onError: (err: unknown) => void,
  ) {
    this.#parser = new XmlFrameParser(this.#onFrame, {
      maxStanzaSize: limits.maxStanzaSize,
      maxStanzaDepth: limits.maxStanzaDepth,
    });
  }

  push(chunk: Uint8Array): void {
    if (this.#stopped || this.#undecodable) return;
    if (!this.#touched) {
      this.#touched = true;
      wake(this);
    }
    let text: string;
    try {
      text = this.#decoder.decode(chunk, { stream: true });
    } catch {
      // RFC 6120 §11.6: the stream must be UTF-8; §4.9.3.22 names the
      // condition for a stream that violates its rules. The error is the
      // last frame (it may still wait behind a slow handler); input ends here.
      this.#undecodable = true;
      this.#onFrame({ kind: "error", condition: "unsupported-encoding", text: "Invalid UTF-8" });
      return;
    }
    this.#parser.write(text);
  }

  /** Stream restart: what follows is parsed as a new document. */
  reset(): void {
    this.#parser.reset();
  }

  /**
   * Stream restart for STARTTLS: like `reset`, but whatever was received
   * after `<starttls/>` (or `<proceed/>`) in plaintext is thrown away,
   * parsed or not, so nothing injected before the handshake counts as
   * part of the secured stream (RFC 6120 §5.4.3.3).
   */
  resetForTls(): void {
    this.#parser.reset(true);
    this.#queue.length = 0;
    // A partial (or invalid) UTF-8 sequence injected in plaintext must not
    // be glued onto the first decrypted bytes.
    this.#decoder = new TextDecoder("utf-8", { fatal: true });
    this.#undecodable = false;
  }

  /** Nothing more is parsed or handled. */
  stop(): void {
    this.#stopped = true;
    this.#queue.length = 0;
    awake.delete(this);
  }

  /**
   * For the sweeper: true once this input can leave the awake set (it
   * was idle for a whole period and is compact, or it stopped).
   */
  sweep(): boolean {
    if (this.#stopped) return true;
    if (this.#touched) {
      this.#touched = false;
      return false;
    }
    // Mid-stanza or waiting on a handler: stay awake and try next time.
    return this.#busy ? false : this.#parser.compact() || this.#parser.isCompact;
  }

  #onFrame = (frame: Frame): void => {
    if (this.#busy) {
      this.#queue.push(frame);
      if (this.#queue.length >= QUEUE_LIMIT && !this.#backlogged) {
        this.#backlogged = true;
        this.onBacklog(true);
      }
      return;
    }
    this.#run(frame);
  };

  #run(frame: Frame): void {
    if (this.#stopped) return;
    let pending: void | Promise<void>;
    try {
      pending = this.handle(frame);
    } catch (err) {
      return this.onError(err);
    }
    if (pending !== undefined) {
      this.#busy = true;
      pending.catch(this.onError).then(this.#drain);
    }
  }

  #drain = (): void => {
    this.#busy = false;
    while (!this.#busy && !this.#stopped && this.#queue.length > 0) {
      this.#run(this.#queue.shift()!);
    }
    if (!this.#busy && this.#backlogged) {
      this.#backlogged = false;
      this.onBacklog(false);
    }
  };
}
