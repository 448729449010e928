/**
 * `api.handleIq`: an iq get/set handler that returns its answer instead
 * of sending it, so the API sends exactly one reply:
 *
 * - an Element → a result carrying it as its payload;
 * - EMPTY_RESULT → an empty result;
 * - undefined (nothing) → not answered here: the event goes on to
 *   lower-priority handlers and, when none takes it, the sender gets
 *   `service-unavailable` (core delivery's answer to any unhandled iq);
 * - a thrown (or rejected) StanzaError → that error;
 * - anything else thrown → `internal-server-error`, logged.
 *
 * The handler may be async. It must not reply itself (no replyResult):
 * that is what makes a forgotten `return true` unable to double-reply.
 */
import { Element } from "../xml/element.ts";
import type { StanzaEvent } from "./router.ts";
import type { HandlerResult } from "./events.ts";

/** The type of EMPTY_RESULT (an object, not a symbol: it survives async return-type widening). */
export interface EmptyResult {
  readonly emptyIqResult: true;
}

/** Returned by an iq handler for a result without payload (compared by identity). */
export const EMPTY_RESULT: EmptyResult = Object.freeze({ emptyIqResult: true });

export type IqAnswer = Element | EmptyResult;
export type IqHandler = (
  ev: StanzaEvent,
) => IqAnswer | undefined | Promise<IqAnswer | undefined>;

/** How the iq was addressed, as the router classifies it (see StanzaEventName). */
export type IqToType = "host" | "bare" | "self" | "full";

export interface IqRoute {
  type: "get" | "set";
  /** The payload's namespace and element name. */
  xmlns: string;
  name: string;
  /**
   * Addressed to: the host (`host`, the default), another account's bare
   * JID (`bare`), the sender's own account (`self`: no `to`, or its bare
   * JID), a full JID (`full`, on hosts whose iq dispatch fires those).
   * Several at once with an array.
   */
  to?: IqToType | readonly IqToType[];
  /** Event priority (default 0; higher runs first). */
  priority?: number;
}

export interface IqReplies {
  result(ev: StanzaEvent, payload?: Element): void;
  /** Router.failed: a StanzaError as that error, anything else logged and internal-server-error. */
  failed(ev: StanzaEvent, err: unknown): void;
  warn(message: string, props: Record<string, unknown>): void;
}

/** The event names a route covers. */
export function iqEventNames(route: IqRoute): string[] {
  const to = route.to ?? "host";
  const types = typeof to === "string" ? [to] : to;
  return types.map((t) => `iq-${route.type}/${t}/${route.xmlns}:${route.name}`);
}

/** Wrap an IqHandler as an event handler that answers once. */
export function iqEventHandler(
  handler: IqHandler,
  replies: IqReplies,
): (ev: StanzaEvent) => HandlerResult {
  const settle = (ev: StanzaEvent, answer: unknown): boolean => {
    if (answer === undefined) return false;
    if (answer === EMPTY_RESULT) replies.result(ev);
    else if (answer instanceof Element) replies.result(ev, answer);
    else {
      // Only untyped code gets here (an old-style `return true`): it may have
      // replied itself, so nothing more is sent.
      replies.warn("iq handler for {id} returned {answer}; no reply sent", {
        id: ev.stanza.attrs.id,
        answer: String(answer),
      });
    }
    return true;
  };
  return (ev) => {
    let r: ReturnType<IqHandler>;
    try {
      r = handler(ev);
    } catch (err) {
      replies.failed(ev, err);
      return true;
    }
    if (!(r instanceof Promise)) return settle(ev, r);
    return r.then(
      (answer) => settle(ev, answer),
      (err) => {
        replies.failed(ev, err);
        return true;
      },
    );
  };
}
