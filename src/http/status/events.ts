/**
 * The status page's server-sent events: each open view gets the snapshot
 * every `refreshSeconds` from one shared timer (which runs only while a
 * view is open). A stream ends when its login expires (an `expired`
 * event, then the page logs in again) or its viewer is no longer an admin
 * (a config reload removed them: checked every tick), after MAX_STREAM_MS (the browser
 * reconnects, with its cookie checked again), or at shutdown. Views are
 * capped: each one costs a snapshot per tick.
 */
const MAX_STREAMS = 32;
const MAX_STREAM_MS = 10 * 60_000;
/** Output a view has not taken past which it is dropped (a stalled reader). */
const MAX_BACKLOG = 8;

interface View {
  controller: ReadableStreamDefaultController<Uint8Array>;
  endsAt: number;
  expiresAt: number;
  /** The admin logged in: what the snapshot may show depends on it. */
  viewer: string;
}

export class EventStreams {
  #views = new Set<View>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #encoder = new TextEncoder();

  constructor(
    readonly refreshSeconds: number,
    readonly snapshot: (viewer: string) => unknown,
    /** Whether `viewer` may still watch (the same check a request's login gets). */
    readonly allowed: (viewer: string) => boolean = () => true,
  ) {}

  get size(): number {
    return this.#views.size;
  }

  /** A new view's body, or undefined past the cap. */
  open(loginExpiresAt: number, viewer = ""): ReadableStream<Uint8Array> | undefined {
    if (this.#views.size >= MAX_STREAMS) return undefined;
    let view: View;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        view = {
          controller,
          endsAt: Date.now() + MAX_STREAM_MS,
          expiresAt: loginExpiresAt,
          viewer,
        };
        this.#views.add(view);
        controller.enqueue(this.#encoder.encode(`retry: ${this.refreshSeconds * 1000}\n\n`));
        this.#send(view, this.#event("status", this.snapshot(viewer)));
        this.#timer ??= setInterval(() => this.#tick(), this.refreshSeconds * 1000);
      },
      cancel: () => this.#drop(view),
    }, { highWaterMark: MAX_BACKLOG });
  }

  closeAll(): void {
    for (const view of [...this.#views]) this.#end(view);
  }

  #tick(): void {
    const now = Date.now();
    // One snapshot per admin per tick, however many views it has open.
    const data = new Map<string, Uint8Array>();
    for (const view of [...this.#views]) {
      if (now >= view.expiresAt || !this.allowed(view.viewer)) {
        this.#send(view, this.#event("expired", {}));
        this.#end(view);
      } else if (now >= view.endsAt) this.#end(view);
      else {
        let event = data.get(view.viewer);
        if (!event) {
          data.set(view.viewer, event = this.#event("status", this.snapshot(view.viewer)));
        }
        this.#send(view, event);
      }
    }
  }

  #event(name: string, data: unknown): Uint8Array {
    return this.#encoder.encode(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  #send(view: View, data: Uint8Array): void {
    // desiredSize counts chunks not yet read by the connection: a reader that stopped is dropped.
    if ((view.controller.desiredSize ?? 0) <= 0) return this.#end(view);
    try {
      view.controller.enqueue(data);
    } catch {
      this.#drop(view);
    }
  }

  #end(view: View): void {
    this.#drop(view);
    try {
      view.controller.close();
    } catch { /* already closed or cancelled */ }
  }

  #drop(view: View): void {
    this.#views.delete(view);
    if (this.#views.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
