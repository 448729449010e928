/**
 * The event hub. Handlers run in priority order (higher first, then in
 * registration order); the first that returns `true` handles the event
 * and stops it. Handlers may be async: `fire` stays synchronous until a
 * handler returns a promise, so the common all-sync path allocates no
 * promise at all. Names and payloads are typed by the event map
 * (event_map.ts); a name it does not list takes any payload.
 */
import { logger } from "../log.ts";
import type { EventName, EventPayload, StanzaEvent, UntypedName } from "./event_map.ts";

const log = logger("events");

export type HandlerResult = boolean | void | Promise<boolean | void>;
export type Handler<T> = (event: T) => HandlerResult;
/** Undoes a registration; calling it again does nothing. */
export type Remover = () => void;

interface Entry {
  fn: Handler<never>;
  priority: number;
}

export class EventHub {
  #handlers = new Map<string, Entry[]>();

  /**
   * Register `fn` for `name`; returns a function that removes it (that
   * registration only: the same function registered twice stays once).
   * Names in the event map (event_map.ts) check the handler's payload.
   */
  on<K extends EventName>(name: K, fn: Handler<EventPayload<K>>, priority?: number): Remover;
  on<T = StanzaEvent, N extends string = string>(
    name: UntypedName<N>,
    fn: Handler<T>,
    priority?: number,
  ): Remover;
  on(name: string, fn: Handler<never>, priority = 0): Remover {
    const entry: Entry = { fn, priority };
    const list = this.#handlers.get(name) ?? [];
    // Copy-on-write: a fire in progress keeps iterating its own snapshot.
    const next = [...list, entry];
    next.sort((a, b) => b.priority - a.priority);
    this.#handlers.set(name, next);
    return () => {
      const cur = this.#handlers.get(name);
      if (!cur) return;
      const rest = cur.filter((e) => e !== entry);
      if (rest.length) this.#handlers.set(name, rest);
      else this.#handlers.delete(name);
    };
  }

  has(name: string): boolean {
    return this.#handlers.has(name);
  }

  /**
   * Notify without waiting: for events nobody answers (resource-bind,
   * presence/initial…). A handler's failure, sync or async, is logged and
   * never becomes an unhandled rejection.
   */
  emit<K extends EventName>(name: K, event: EventPayload<K>): void;
  emit<T, N extends string = string>(name: UntypedName<N>, event: T): void;
  emit(name: string, event: unknown): void {
    try {
      const r = this.fire(name, event);
      if (r instanceof Promise) {
        r.catch((err) => log.error("{name} handler failed: {err}", { name, err }));
      }
    } catch (err) {
      log.error("{name} handler failed: {err}", { name, err });
    }
  }

  /** True (or a promise of true) when a handler handled the event. */
  fire<K extends EventName>(name: K, event: EventPayload<K>): boolean | Promise<boolean>;
  fire<T, N extends string = string>(name: UntypedName<N>, event: T): boolean | Promise<boolean>;
  fire<T>(name: string, event: T): boolean | Promise<boolean> {
    const list = this.#handlers.get(name);
    if (list === undefined) return false;
    for (let i = 0; i < list.length; i++) {
      const r = (list[i].fn as Handler<T>)(event);
      if (r === true) return true;
      if (r instanceof Promise) return continueAsync(r, list, i + 1, event);
    }
    return false;
  }
}

async function continueAsync<T>(
  pending: Promise<boolean | void>,
  list: Entry[],
  from: number,
  event: T,
): Promise<boolean> {
  if ((await pending) === true) return true;
  for (let i = from; i < list.length; i++) {
    if ((await (list[i].fn as Handler<T>)(event)) === true) return true;
  }
  return false;
}

/**
 * Run `then` on a sync-or-async result without forcing a promise. An
 * async handler's failure, or `then` throwing after it, goes to
 * `onError`; if that throws too it is logged: nothing here may become an
 * unhandled rejection, which would end the process. What it returns is
 * undefined or a promise that settles once all of it is done (the
 * promise `then` returned included, which must not reject): a stream
 * counts it against the stanzas it may have in the works.
 */
export function whenDone(
  r: boolean | Promise<boolean>,
  then: (handled: boolean) => void | Promise<void>,
  onError: (err: unknown) => void,
): void | Promise<void> {
  if (typeof r === "boolean") return then(r);
  // The returned promise settles when `then` (and what it returned) has, and never rejects.
  return r.then(then).catch((err) => {
    try {
      onError(err);
    } catch (again) {
      log.error("error handling failed: {again} (handling {err})", { again, err });
    }
  });
}
