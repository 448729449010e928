/**
 * A connection's input: bytes → streaming UTF-8 decoder → XmlFrameParser
 * → the stream handler, one frame at a time and in order.
 *
 * It replaced a TextDecoderStream → TransformStream(parser) chain. Why,
 * measured (bench/results/frame_input.md; bench/frame_input_bench.ts and
 * frame_input_memory.ts rebuild the chain beside this class):
 * - memory: 10 000 idle instances cost 20.2 KB of heap each as the chain,
 *   5.7 KB as FrameInput, 2.5 KB once the idle sweep compacted the
 *   parser; the load generator had seen the same ~20 KB per connection
 *   (65 KB per TLS session against Prosody's 47);
 * - time: parsing dominates a 64 KB chunk (best case ~1.3 ms both ways);
 *   the chain pays promise hops per chunk (one-stanza chunk, best case
 *   3.9 µs here, 4.7 µs there) and, on a loaded machine, its averages
 *   were up to 2× FrameInput's. Frames here reach the handler inside the
 *   socket's `data` event, and a handler's promise holds back the next
 *   frame (in-order processing) without a stream's queueing machinery.
 *
 * A handler may return a promise (SASL hashing, storage): frames parsed
 * meanwhile wait in a short queue, text not parsed yet waits too, and the
 * owner is told to stop reading while anything waits.
 *
 * No connection holds the event loop for long: text is parsed in slices
 * and frames handled one by one until TURN_BUDGET_MS is spent; the rest
 * waits for a later turn (setImmediate, after other sockets' I/O), with
 * reading paused. Worst-case input under the parser's limits costs
 * 20–30 ms per 64 KB chunk to parse alone, and a chunk of tiny stanzas
 * thousands of handler calls: done in one go, that was a stall for every
 * other connection.
 */
import { setImmediate } from "node:timers";
import { type Frame, type ParserOptions, XmlFrameParser } from "../xml/parser.ts";
import { IdleSweep } from "../util/idle_sweep.ts";
import { type FrameHandler, FrameRunner } from "./frame_runner.ts";

/** Text handed to the parser at once: small enough to check the budget often. */
const SLICE = 1024;
/**
 * Reading pauses while work waits for a later turn, or when this much
 * (frames plus KB of text) waits behind a slow handler. Not sooner: a
 * short wait for SASL hashing or storage is common, and each pause and
 * resume is a call into the socket (and may meet a TLS upgrade under way).
 */
const BACKLOG_LIMIT = 32;
/** Time one input may work in one event-loop turn before letting others run. */
const TURN_BUDGET_MS = 2;
/**
 * Text waiting to be parsed may reach this many stanzas' worth
 * (maxStanzaSize each), plus WAITING_SLACK, before the stream is ended
 * with policy-violation. Reading is paused long before that, but what
 * arrives before the pause takes effect still appends (one socket read is
 * 64 KB or more, TLS delivers the records it already holds): without a
 * bound, a handler that never settles let a peer grow it forever.
 */
const WAITING_STANZAS = 4;
const WAITING_SLACK = 256 * 1024;

/** The parser limits a stream applies (`c2s.maxStanzaSize`, `c2s.maxStanzaDepth`). */
export type StreamLimits = Pick<ParserOptions, "maxStanzaSize" | "maxStanzaDepth">;

/**
 * Idle inputs give back their parser state (XmlFrameParser.compact):
 * measured with the load generator, that is ~2.5 KB of the ~50 KB an idle
 * TLS session costs. One timer for all connections checks, every
 * SWEEP_MS, which inputs saw no data since the previous check.
 */
const SWEEP_MS = 2000;
const idle = new IdleSweep<FrameInput>(SWEEP_MS);

export class FrameInput {
  #decoder = new TextDecoder("utf-8", { fatal: true });
  #parser: XmlFrameParser;
  /** Hands frames to the handler; `busy` while its promise is pending. */
  #runner: FrameRunner;
  #queue: Frame[] = [];
  /** Decoded text not parsed yet, from #offset on. */
  #pending = "";
  #offset = 0;
  /** #work is scheduled for a later turn. */
  #scheduled = false;
  /** End of the current turn's budget (performance.now()), while #work runs. */
  #deadline = 0;
  /** End of the last turn's budget, kept after #work returns (see #drain). */
  #turnEnd = 0;
  #stopped = false;
  /** Invalid UTF-8 arrived: nothing after it is read. */
  #undecodable = false;
  /** Its error frame was given out, after the text before it. */
  #undecodableReported = false;
  /** The parser gave its last frame (an error or the close) for this stream. */
  #ended = false;
  #backlogged = false;
  /** Data arrived since the last sweep. */
  #touched = false;
  /** Most text (UTF-16 units) that may wait unparsed (WAITING_STANZAS). */
  #maxWaiting: number;
  /**
   * The text last written to the parser and where it starts in the
   * parser's offsets (see `reset`); frames are handled in order, and none
   * is written while one waits, so a frame being handled came from it.
   */
  #slice = "";
  #sliceStart = 0;
  /** Inside the parser's write: frames handled now come straight from it. */
  #inWrite = false;
  /**
   * Where the stanza handed to the handler last ends in the parser's
   * offsets (a restart comes from it), or -1: only the position is kept,
   * not the frame, so an idle connection holds no stanza tree.
   */
  #currentEnd = -1;

  constructor(
    handle: FrameHandler,
    limits: StreamLimits,
    /** Called with true when input waits (reading should pause), false once it is done. */
    readonly onBacklog: (full: boolean) => void,
    /** What a handler threw or rejected with, and its frame (see FrameRunner). */
    onError: (err: unknown, frame: Frame) => void,
  ) {
    this.#runner = new FrameRunner(handle, onError, this.#drain);
    this.#maxWaiting = WAITING_STANZAS * limits.maxStanzaSize + WAITING_SLACK;
    this.#parser = new XmlFrameParser(this.#onFrame, {
      maxStanzaSize: limits.maxStanzaSize,
      maxStanzaDepth: limits.maxStanzaDepth,
    });
  }

  push(chunk: Uint8Array): void {
    // After the stream's last frame (its close or an error) nothing more
    // is parsed: kept, it could only pile up while that frame waits for a
    // later turn, and end in a second, bogus, policy-violation frame.
    // Unless that frame waits behind one still being handled, which may
    // restart the stream (see reset): what follows is then the new one's.
    if (this.#stopped || this.#undecodable) return;
    if (this.#ended && !this.#runner.busy) return;
    if (!this.#touched) {
      this.#touched = true;
      idle.wake(this);
    }
    try {
      const text = this.#decoder.decode(chunk, { stream: true });
      // What was parsed already is dropped, not kept in front of the new text.
      this.#pending = this.#offset === this.#pending.length
        ? text
        : this.#pending.slice(this.#offset) + text;
      this.#offset = 0;
    } catch {
      // RFC 6120 §11.6: the stream must be UTF-8; §4.9.3.22 names the
      // condition for a stream that violates its rules. The error is the
      // last frame, after the text that came before; input ends here.
      this.#undecodable = true;
    }
    if (this.#pending.length - this.#offset > this.#maxWaiting) return this.#overrun();
    if (!this.#scheduled) this.#work();
    // Work waits for a later turn (a handler settled past the turn's
    // budget, see #drain) and more keeps coming: stop reading meanwhile,
    // or a fast writer whose every stanza is handled asynchronously (in
    // order, one at a time) piles up text without bound.
    else if (this.#waiting() > BACKLOG_LIMIT) this.#setBacklogged(true);
  }

  /**
   * Too much text waits (see WAITING_STANZAS): the stream ends now with a
   * policy-violation frame, even while a handler is pending (it may never
   * settle); nothing waiting is handled.
   */
  #overrun(): void {
    this.#queue.length = 0;
    this.#pending = "";
    this.#offset = 0;
    this.#ended = true;
    this.#run({ kind: "error", condition: "policy-violation", text: "Too much input waiting" });
    this.stop();
  }

  /**
   * Stream restart: what follows the frame being handled is parsed as a
   * new document. Called from inside the parser's write, the parser hands
   * the rest of its input on itself. Called once the write is over (the
   * handler waited for SASL hashing, or its frame had queued), the old
   * stream's parser has parsed on to the end of the text written: a
   * client that sent its new header and bind request right behind its
   * SASL response had them swallowed. That text is parsed again, and the
   * frames parsed from it are dropped.
   */
  reset(): void {
    this.#parser.reset();
    this.#ended = false;
    if (this.#inWrite) return;
    const from = this.#currentEnd < 0 ? -1 : this.#currentEnd - this.#sliceStart;
    const slice = this.#slice;
    this.#slice = "";
    this.#sliceStart = 0;
    if (from < 0 || from > slice.length) return;
    this.#queue.length = 0;
    const rest = slice.slice(from);
    this.#pending = rest + this.#pending.slice(this.#offset);
    this.#offset = 0;
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
    this.#pending = "";
    this.#offset = 0;
    this.#slice = "";
    this.#sliceStart = 0;
    // A partial (or invalid) UTF-8 sequence injected in plaintext must not
    // be glued onto the first decrypted bytes.
    this.#decoder = new TextDecoder("utf-8", { fatal: true });
    this.#undecodable = false;
    this.#undecodableReported = false;
    this.#ended = false;
  }

  /** Nothing more is parsed or handled. */
  stop(): void {
    this.#stopped = true;
    this.#queue.length = 0;
    this.#pending = "";
    this.#offset = 0;
    idle.forget(this);
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
    // Mid-stanza or with work waiting: stay awake and try next time.
    if (this.#runner.busy || this.#scheduled || this.#offset < this.#pending.length) return false;
    return this.#parser.compact() || this.#parser.isCompact;
  }

  /**
   * Handles queued frames and parses waiting text, in order, until
   * everything is done, a handler is pending, or the turn's budget is
   * spent (then it continues in a later turn).
   */
  #work = (): void => {
    this.#scheduled = false;
    this.#deadline = performance.now() + TURN_BUDGET_MS;
    this.#turnEnd = this.#deadline;
    this.#continue();
  };

  /** #work's loop, within the budget #deadline sets. */
  #continue(): void {
    while (!this.#stopped && !this.#runner.busy) {
      if (this.#queue.length !== 0) this.#run(this.#queue.shift()!);
      else if (this.#offset < this.#pending.length) {
        const end = Math.min(this.#offset + SLICE, this.#pending.length);
        const piece = this.#pending.slice(this.#offset, end);
        this.#offset = end;
        if (end === this.#pending.length) {
          this.#pending = "";
          this.#offset = 0;
        }
        // Frames come back through #onFrame, run at once while time is left.
        this.#inWrite = true;
        try {
          this.#parser.write(piece);
        } finally {
          this.#inWrite = false;
        }
        this.#slice = piece;
        // A restart inside the write starts the count again within the piece.
        this.#sliceStart = this.#parser.offset - piece.length;
      } else if (this.#undecodable && !this.#undecodableReported && !this.#ended) {
        this.#undecodableReported = true;
        this.#run({ kind: "error", condition: "unsupported-encoding", text: "Invalid UTF-8" });
      } else break;
      if (performance.now() > this.#deadline && !this.#runner.busy && this.#hasWork()) {
        this.#scheduled = true;
        setImmediate(this.#work);
        break;
      }
    }
    this.#deadline = 0;
    if (!this.#stopped) this.#setBacklogged(this.#scheduled || this.#waiting() > BACKLOG_LIMIT);
  }

  /** Frames and text (in 1 KB units) waiting behind a pending handler. */
  #waiting(): number {
    return this.#queue.length + (this.#pending.length - this.#offset) / SLICE;
  }

  #hasWork(): boolean {
    return this.#queue.length !== 0 || this.#offset < this.#pending.length ||
      (this.#undecodable && !this.#undecodableReported && !this.#ended);
  }

  #setBacklogged(full: boolean): void {
    if (full === this.#backlogged) return;
    this.#backlogged = full;
    this.onBacklog(full);
  }

  #onFrame = (frame: Frame): void => {
    // Undecodable bytes after a parse error (or the close) add no second error.
    if (frame.kind === "error" || frame.kind === "close") this.#ended = true;
    // In order: behind queued frames and a pending handler. Over the
    // budget, the parser finishes its slice but the frames wait.
    if (
      this.#runner.busy || this.#queue.length !== 0 || this.#deadline === 0 ||
      performance.now() > this.#deadline
    ) {
      this.#queue.push(frame);
    } else this.#run(frame);
  };

  #run(frame: Frame): void {
    if (this.#stopped) return;
    this.#currentEnd = frame.kind === "stanza" && frame.end !== undefined ? frame.end : -1;
    this.#runner.run(frame);
  }

  /**
   * A handler's promise settled. It often settles in a microtask of the
   * same turn (storage answered synchronously, a per-user queue moved
   * on): starting a fresh budget then would chain every frame's handling
   * into one microtask run that never yields (a roster-set flood held the
   * event loop for 2 s that way). Within the turn's budget the work goes
   * on; past it, it waits for a later turn. Reading is not paused for
   * that short wait (#work decides again when it runs).
   */
  #drain = (): void => {
    // Called whether the handler failed or not: a failed frame never stalls the ones behind it.
    if (this.#scheduled) return;
    if (performance.now() <= this.#turnEnd) {
      this.#deadline = this.#turnEnd;
      this.#continue();
    } else {
      this.#scheduled = true;
      setImmediate(this.#work);
    }
  };
}
