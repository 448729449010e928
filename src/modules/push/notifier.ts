/**
 * Sending notifications for a user whose clients are away: one summary
 * (message count since the user was last active, last sender, last body)
 * to each registration, at most once per `intervalMs` per user — messages
 * arriving in between are counted into one more notification when the
 * interval ends, so a burst wakes the phone once or twice, never not at
 * all. A user's state goes when a client of theirs is active again.
 *
 * Each notification's answer is awaited (api.sendIq) for a bounded time;
 * an error from the app server, but a temporary one (`wait`), removes that
 * registration (XEP-0357 §8).
 */
import type { ModuleApi } from "../../core/module_api.ts";
import { StanzaError } from "../../core/errors.ts";
import type { Element } from "../../xml/element.ts";
import { notification, type Registration } from "./protocol.ts";
import type { Registrations } from "./registrations.ts";

/** Users with a notification pending or recently sent; the oldest is forgotten past it. */
const MAX_TRACKED = 10_000;
/** How long an app server's answer is waited for. */
const REPLY_TIMEOUT_MS = 60_000;

interface Pending {
  count: number;
  sender: string | undefined;
  body: string | undefined;
  lastPushAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class Notifier {
  readonly #pending = new Map<string, Pending>();

  constructor(
    readonly api: ModuleApi,
    readonly registrations: Registrations,
    readonly intervalMs: number,
    readonly allowBody: boolean,
    /** Whether a client of the user is connected and available now. */
    readonly active: (user: string) => boolean,
  ) {}

  /** Messages for `user` that no active client got (newest last). */
  add(user: string, messages: Element[]): void {
    if (messages.length === 0) return;
    let p = this.#pending.get(user);
    if (p) this.#pending.delete(user);
    else p = { count: 0, sender: undefined, body: undefined, lastPushAt: 0, timer: undefined };
    // Re-inserted: the Map's order is least recently used first.
    this.#pending.set(user, p);
    if (this.#pending.size > MAX_TRACKED) {
      const [oldest] = this.#pending.keys();
      this.reset(oldest);
    }
    const last = messages[messages.length - 1];
    p.count += messages.length;
    p.sender = last.attrs.from;
    p.body = last.getChildText("body");
    if (p.timer !== undefined) return;
    const wait = p.lastPushAt + this.intervalMs - Date.now();
    if (wait <= 0) return this.#due(user, p);
    const timer = setTimeout(() => {
      p.timer = undefined;
      if (this.#pending.get(user) === p) this.#due(user, p);
    }, wait);
    // Never keeps the process alive.
    Deno.unrefTimer(timer);
    p.timer = timer;
  }

  /** A client of the user is active (or the account went): nothing pending any more. */
  reset(user: string): void {
    const p = this.#pending.get(user);
    if (!p) return;
    clearTimeout(p.timer);
    this.#pending.delete(user);
  }

  #due(user: string, p: Pending): void {
    if (this.active(user)) return this.reset(user);
    p.lastPushAt = Date.now();
    const summary = { count: p.count, sender: p.sender, body: p.body };
    this.#publish(user, summary).catch((err) => {
      this.api.log.warn("{user}: push notification failed: {err}", { user, err });
    });
  }

  async #publish(
    user: string,
    summary: { count: number; sender: string | undefined; body: string | undefined },
  ): Promise<void> {
    const from = user + "@" + this.api.domain;
    for (const reg of await this.registrations.all(user)) {
      const body = reg.body && this.allowBody ? summary.body : undefined;
      // sendIq sets the id; the answer is awaited apart, the next registration need not wait.
      const iq = notification(from, "", reg, { ...summary, body });
      this.#onReply(user, reg, this.api.sendIq(iq, { timeoutMs: REPLY_TIMEOUT_MS }));
    }
  }

  /** The app server's answer: an error, but a temporary one, disables the registration. */
  #onReply(user: string, reg: Registration, reply: Promise<unknown>): void {
    reply.catch((err) => {
      // `wait` errors and no answer (IqTimeoutError is a `wait`) leave it enabled.
      if (!(err instanceof StanzaError) || err.type === "wait") return;
      this.api.log.info("{user}: app server {jid} answered with an error; push disabled there", {
        user,
        jid: reg.jid,
      });
      return this.registrations.disable(user, reg.jid, reg.node).catch((err) => {
        this.api.log.warn("{user}: removing a push registration failed: {err}", { user, err });
      });
    });
  }
}
