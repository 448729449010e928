/**
 * One BOSH session (XEP-0124, XEP-0206) as a `StreamTransport`: the
 * client stream core runs over it unchanged.
 *
 * - Requests are processed strictly in `rid` order: one ahead of a gap
 *   (within the `requests` window) waits until the gap fills; a repeated
 *   `rid` gets its answer again (retransmission, §14.3), or joins the
 *   request still waiting for it; a `rid` outside the window ends the
 *   session with `item-not-found`.
 * - A request's stanzas go to the stream core in order (a handler's
 *   promise holds back the next), then the request is held: at most
 *   `hold` of them, each answered as soon as there is output, or empty
 *   after `wait`.
 * - The session creation and restart requests become the `open` frame a
 *   TCP stream header would be; the stream features go out in the answer.
 * - No request held for `inactivity` seconds (or the client's `pause`):
 *   the client is gone, as a dropped TCP connection.
 */
import type { TlsState } from "../../net/connection.ts";
import { ReadRateBucket } from "../../net/read_rate.ts";
import type { Frame } from "../../xml/parser.ts";
import type {
  FrameSink,
  StreamOpenAttrs,
  StreamTransport,
  TransportKind,
  TransportLimits,
} from "../../stream/transport.ts";
import type { BoshBody } from "./body.ts";
import { AnswerCache, type Held, HeldRequests, type Respond } from "./held.ts";
import { OutputQueue } from "./output.ts";
import {
  bodyXml,
  creationAttrs,
  qualify,
  type TerminalCondition,
  terminateXml,
} from "./response.ts";
import { StreamOpens } from "./stream_open.ts";
/**
 * HTTP requests waiting on one `rid` (a client retrying a request whose
 * connection it believes lost); beyond it the oldest gets an empty body.
 */
const MAX_RESPONDERS = 2;

export interface BoshParams {
  sid: string;
  remoteAddress: string;
  secure: boolean;
  /** Seconds a request may be held: the client's `wait`, capped. */
  wait: number;
  /** Requests held at once: the client's `hold`, capped. */
  hold: number;
  /** Seconds without a held request before the session ends. */
  inactivity: number;
  /** Longest pause a client may ask for, seconds (0: none). */
  maxPause: number;
  /** The client asked for acknowledgements (XEP-0124 §9.1). */
  acks: boolean;
  maxQueuedElements: number;
  /** The session is over and its last answer given (or no longer awaited). */
  onEnd(session: BoshSession): void;
  /** The client authenticated (per-IP limits on unauthenticated sessions). */
  onAuthenticated(session: BoshSession): void;
}

interface Pending {
  rid: number;
  body: BoshBody;
  /** Characters of the request body, for the read rate. */
  size: number;
  respond: Respond[];
}

export class BoshSession implements StreamTransport {
  readonly kind: TransportKind = "bosh";
  readonly tls: TlsState | undefined = undefined;
  readonly canStartTls = false;
  #sink: FrameSink | undefined;
  #output: OutputQueue | undefined;
  #header: StreamOpenAttrs | undefined;
  readonly #creationRid: number;
  /** The next rid to process: every rid below it has been received. */
  #next: number;
  /** Requests received ahead of a gap, by rid (at most `requests`). */
  #waiting = new Map<number, Pending>();
  #processing: Pending | undefined;
  readonly #held: HeldRequests;
  /** Recent answers by rid, for retransmission. */
  readonly #answers: AnswerCache;
  readonly #opens = new StreamOpens();
  #closed = false;
  #onCloseSent = false;
  /** Once the stream ended: the first request still outstanding gets this… */
  #final: string | undefined;
  /** …and any other one this (the error without the last stanzas). */
  #finalBare: string | undefined;
  #ended = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** A client's pause (seconds) replacing `inactivity` until its next request. */
  #pause: number | undefined;
  #flushQueued = false;
  #authenticated = false;
  /** c2s.readRate*, over request bodies: a flood waits its turn as a TCP reader would. */
  #rate: ReadRateBucket | undefined;
  #sleep: { timer: ReturnType<typeof setTimeout>; wake: () => void } | undefined;

  constructor(readonly params: BoshParams, creationRid: number) {
    this.#creationRid = creationRid;
    this.#next = creationRid;
    this.#held = new HeldRequests(params.wait * 1000, (held) => this.#expire(held));
    this.#answers = new AnswerCache(this.requests);
  }

  get sid(): string {
    return this.params.sid;
  }

  /** Requests the client may have outstanding (XEP-0124 §7.2 `requests`). */
  get requests(): number {
    return this.params.hold + 1;
  }

  get remoteAddress(): string {
    return this.params.remoteAddress;
  }

  get secure(): boolean {
    return this.params.secure;
  }

  get written(): number {
    return this.#output?.written ?? 0;
  }

  get pending(): number {
    return this.#output?.pending ?? 0;
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ---- StreamTransport ---------------------------------------------------------

  start(sink: FrameSink, limits: TransportLimits): void {
    this.#sink = sink;
    if (limits.readRate) this.#rate = new ReadRateBucket(limits.readRate);
    this.#output = new OutputQueue(
      limits.maxOutputBytes ?? 0,
      this.params.maxQueuedElements,
      () => sink.onOverflow?.(),
    );
  }

  /** BOSH has no stream header: its attributes go into the session creation answer. */
  open(attrs: StreamOpenAttrs): void {
    this.#header = attrs;
  }

  send(data: string): void {
    if (this.#closed || !this.#output) return;
    this.#output.push(qualify(data));
    // Several sends in one turn leave in one response.
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      this.#flush();
    });
  }

  close(error?: string): void {
    if (this.#closed) return;
    // After an overflow the queued messages went to offline storage
    // (C2sStream.onOverflow): sending them too would deliver them twice.
    const stanzas = this.#output?.overflowed ? [] : this.#output?.take() ?? [];
    const condition: TerminalCondition | undefined = error ? "remote-stream-error" : undefined;
    const errors = error ? [error] : [];
    this.#end(terminateXml(condition, [...stanzas, ...errors]), terminateXml(condition, errors));
    // As a socket's close event: after the caller's close sequence.
    queueMicrotask(() => this.#notifyClose());
  }

  /** The next request brings the new stream's `open` (`xmpp:restart`). */
  restart(): void {}

  authenticated(): void {
    if (this.#authenticated) return;
    this.#authenticated = true;
    this.params.onAuthenticated(this);
  }

  writable(): Promise<void> {
    return this.#output?.writable() ?? Promise.resolve();
  }

  // ---- requests --------------------------------------------------------------------

  /** A request for this session; resolves with the body to answer it with. */
  request(rid: number, body: BoshBody, size = 0): Promise<string> {
    return new Promise((resolve) => this.#request({ rid, body, size, respond: [resolve] }));
  }

  /** A binding error (a body that did not parse): the session ends with it. */
  fail(condition: TerminalCondition): void {
    if (this.#closed) return;
    this.#output?.release();
    this.#end(terminateXml(condition), terminateXml(condition));
    this.#notifyClose(new Error("BOSH " + condition));
  }

  /**
   * A request for this session that cannot be read (broken body, no rid):
   * the session ends with `condition`, which is also that request's answer.
   */
  refuse(condition: TerminalCondition): string {
    this.fail(condition);
    const answer = this.#final!;
    this.#release();
    return answer;
  }

  /** Server shutdown: end at once, answering whatever is outstanding. */
  shutdown(): void {
    this.fail("system-shutdown");
    this.#release();
  }

  #request(req: Pending): void {
    const rid = req.rid;
    const respond = req.respond[0];
    if (this.#final !== undefined) {
      // A lost answer asked for again is still there; anything else learns the end.
      respond(this.#answers.get(rid) ?? this.#final);
      this.#release();
      return;
    }
    this.#sink?.onActivity?.();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pause = undefined;
    if (rid < this.#next) this.#repeated(rid, respond);
    else if (rid - (this.#next - 1) > this.requests) {
      this.fail("item-not-found");
      respond(this.#final!);
      this.#release();
    } else {
      const waiting = this.#waiting.get(rid);
      if (waiting) addResponder(waiting.respond, respond);
      else if (rid === this.#next && this.#processing && isPoll(req.body)) {
        // Nothing to process, so nothing to order: held at once. Output
        // produced meanwhile (an offline burst waiting for `writable`)
        // needs a request to leave on while the older one is processed.
        this.#next++;
        this.#hold(req, false);
      } else {
        this.#waiting.set(rid, req);
        void this.#pump();
      }
    }
    this.#idleCheck();
  }

  /** A rid already processed (or being processed): the same answer again. */
  #repeated(rid: number, respond: Respond): void {
    const answer = this.#answers.get(rid);
    if (answer !== undefined) return respond(answer);
    if (this.#processing?.rid === rid) return addResponder(this.#processing.respond, respond);
    const held = this.#held.find(rid);
    if (held) return addResponder(held.respond, respond);
    // Too old to have been kept: the client cannot recover what it lost.
    this.fail("item-not-found");
    respond(this.#final!);
    this.#release();
  }

  async #pump(): Promise<void> {
    if (this.#processing) return;
    while (!this.#closed) {
      const next = this.#waiting.get(this.#next);
      if (!next) break;
      this.#waiting.delete(this.#next);
      this.#next++;
      this.#processing = next;
      try {
        const pause = this.#rate?.consume(next.size) ?? 0;
        if (pause > 0) await this.#pauseReading(pause);
        if (!this.#closed) await this.#process(next);
      } catch (err) {
        // #process hands frame errors to the sink; anything here is a bug.
        this.#sink?.onError(err, { kind: "close" });
        this.fail("internal-server-error");
      } finally {
        this.#processing = undefined;
      }
      if (this.#closed) this.#deliverFinal(next.rid, next.respond);
    }
    this.#idleCheck();
  }

  #pauseReading(ms: number): Promise<void> {
    return new Promise<void>((wake) => {
      this.#sleep = { timer: setTimeout(wake, ms), wake: () => wake() };
    }).finally(() => this.#sleep = undefined);
  }

  async #process(req: Pending): Promise<void> {
    const sink = this.#sink!;
    const { attrs, xmpp, elements } = req.body;
    const creation = req.rid === this.#creationRid;
    const frames: Frame[] = [];
    if (creation || xmpp.restart === "true") frames.push(this.#opens.frame(req.body, creation));
    for (const element of elements) frames.push({ kind: "stanza", element, size: 0 });
    if (attrs.type === "terminate") frames.push({ kind: "close" });
    for (const frame of frames) {
      if (this.#closed) return;
      try {
        const pending = sink.onFrame(frame);
        if (pending) await pending;
      } catch (err) {
        sink.onError(err, frame);
      }
    }
    if (this.#closed) return;
    const pause = attrs.pause === undefined ? NaN : Number(attrs.pause);
    if (pause > 0 && this.params.maxPause > 0) {
      // §10: answer everything now; the session waits up to `pause` for the next request.
      this.#pause = Math.min(Math.floor(pause), this.params.maxPause);
      while (this.#held.size > 0) this.#answerOldest();
      this.#answer(req.rid, req.respond, bodyXml(this.#ackAttrs(req.rid), this.#output!.take()));
      return;
    }
    this.#hold(req, creation);
  }

  /**
   * Held until there is output, or `wait` passes; past `hold` held, the
   * oldest is answered. So a client never has more than `requests`
   * outstanding here (further rids are outside the window), and the
   * overactivity rule of XEP-0124 §11 (a SHOULD: policy-violation for
   * empty requests faster than `polling`) is not enforced: it would
   * refuse the empty request a client may send while one with a payload
   * is held, and an attacker can make the same HTTP requests without a
   * session anyway; http.maxRequestsPerIp bounds what each costs.
   */
  #hold(req: Pending, creation: boolean): void {
    this.#held.add(req.rid, req.respond, creation);
    while (this.#held.size > this.params.hold) this.#answerOldest();
    this.#flush();
  }

  // ---- answers -------------------------------------------------------------------

  /** Output waiting and a request held: the oldest held request carries it. */
  #flush(): void {
    if (this.#closed || !this.#output || this.#output.empty || this.#held.size === 0) return;
    // Overflowed: the queue went to offline storage; the close that follows says so.
    if (this.#output.overflowed) return;
    this.#answerOldest();
    this.#idleCheck();
  }

  #answerOldest(): void {
    this.#answerHeld(this.#held.shift()!);
  }

  /** `wait` passed with nothing to send: an empty body (or what arrived meanwhile). */
  #expire(held: Held): void {
    this.#answerHeld(held);
    this.#idleCheck();
  }

  #answerHeld(held: Held): void {
    const attrs = held.creation
      ? creationAttrs(this.params, this.requests, this.#header, this.#creationRid)
      : this.#ackAttrs(held.rid);
    const output = this.#output!.overflowed ? [] : this.#output!.take();
    this.#answer(held.rid, held.respond, bodyXml(attrs, output));
  }

  #answer(rid: number, respond: Respond[], xml: string): void {
    this.#answers.set(rid, xml);
    for (const r of respond) r(xml);
  }

  /**
   * §9.1: answering a request older than the newest received in order
   * tells the client how far we got, so it need not resend those.
   */
  #ackAttrs(rid: number): Record<string, string> {
    const highest = this.#next - 1;
    return this.params.acks && highest > rid ? { ack: String(highest) } : {};
  }

  // ---- the end ---------------------------------------------------------------------

  /**
   * The stream is over: every request outstanding is answered (the
   * oldest with the last output), later ones get the same final answer
   * until the session is released.
   */
  #end(final: string, bare: string): void {
    this.#closed = true;
    this.#final = final;
    this.#finalBare = bare;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#sleep) {
      clearTimeout(this.#sleep.timer);
      this.#sleep.wake();
    }
    for (const held of this.#held.drain()) this.#deliverFinal(held.rid, held.respond);
    for (const waiting of this.#waiting.values()) this.#deliverFinal(waiting.rid, waiting.respond);
    this.#waiting.clear();
    if (this.#processing) return; // #pump delivers it
    if (this.#finalDelivered) this.#release();
    else {
      // Kept a while for the client's next request to learn why.
      this.#timer = setTimeout(() => this.#release(), this.params.wait * 1000);
    }
  }

  #finalDelivered = false;

  #deliverFinal(rid: number, respond: Respond[]): void {
    const xml = this.#finalDelivered ? this.#finalBare! : this.#final!;
    this.#finalDelivered = true;
    this.#answer(rid, respond, xml);
    if (!this.#processing) this.#release();
  }

  #notifyClose(error?: Error): void {
    if (this.#onCloseSent) return;
    this.#onCloseSent = true;
    this.#sink?.onClose(error);
  }

  /** Gone from the session table; nothing more to answer. */
  #release(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#output?.release();
    if (this.#ended) return;
    this.#ended = true;
    this.params.onEnd(this);
  }

  /** No request held and none being processed: the inactivity clock runs. */
  #idleCheck(): void {
    if (this.#closed || this.#timer !== undefined) return;
    if (this.#held.size > 0 || this.#processing) return;
    const seconds = this.#pause ?? this.params.inactivity;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // The client is gone, as a dropped TCP connection: no stream error to send.
      this.#output?.release();
      this.#end(terminateXml("item-not-found"), terminateXml("item-not-found"));
      this.#release();
      this.#notifyClose(new Error("BOSH client inactive"));
    }, seconds * 1000);
  }
}

/** An empty body with no attribute that asks for anything: only a request to be held. */
function isPoll(body: BoshBody): boolean {
  const { attrs, xmpp, elements } = body;
  return elements.length === 0 && attrs.type === undefined && attrs.pause === undefined &&
    xmpp.restart === undefined;
}

function addResponder(list: Respond[], respond: Respond): void {
  list.push(respond);
  while (list.length > MAX_RESPONDERS) list.shift()!(bodyXml({}));
}
