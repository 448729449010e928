/**
 * One timer per host for every time-driven part of stream management:
 * ack requests by time and the end of hibernations. It runs only while
 * some session needs it (unacknowledged stanzas, or hibernating), never
 * keeps the process alive, and costs an idle session nothing.
 */
export class Sweeper<T> {
  readonly #members = new Set<T>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(readonly periodMs: number, readonly visit: (member: T, now: number) => void) {}

  get size(): number {
    return this.#members.size;
  }

  has(member: T): boolean {
    return this.#members.has(member);
  }

  add(member: T): void {
    this.#members.add(member);
    // Unref'd: a pending sweep never keeps the process alive.
    this.#timer ??= setInterval(() => this.#sweep(), this.periodMs).unref();
  }

  delete(member: T): void {
    this.#members.delete(member);
    if (this.#members.size === 0) this.#stop();
  }

  #sweep(): void {
    const now = Date.now();
    // A visit may delete members (and end sessions): iterate a snapshot.
    for (const member of [...this.#members]) this.visit(member, now);
    if (this.#members.size === 0) this.#stop();
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
