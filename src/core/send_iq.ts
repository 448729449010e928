/**
 * `api.sendIq`: a server-originated iq get/set (from the host, or on
 * behalf of an account: from its bare JID) routed like any stanza, and
 * its answer as a promise:
 *
 * - a result → resolves with the whole result `<iq/>`;
 * - an error → rejects with a StanzaError of the reply's type and
 *   condition (text and `by` kept);
 * - no answer within `timeoutMs` → rejects with an IqTimeoutError (a
 *   StanzaError `wait`/`remote-server-timeout`);
 * - the module unloaded first → rejects with an IqTimeoutError too.
 *
 * The id is always a fresh random one (set on the stanza). The answer is
 * recognised from core delivery's `iq-result/<toType>/<id>` and
 * `iq-error/<toType>/<id>` events, and only when its `from` is the iq's
 * `to` (anyone else guessing the id is ignored). Listeners and the timer
 * go as soon as it settles, so pending queries are bounded by their
 * timeouts.
 */
import { type Element } from "../xml/element.ts";
import { NS } from "../xml/namespaces.ts";
import { parseJid } from "../jid.ts";
import { StanzaError, type StanzaErrorCondition, type StanzaErrorType } from "./errors.ts";
import type { Remover } from "./events.ts";
import type { StanzaEvent } from "./router.ts";
import { randomId } from "../util/random.ts";

export const DEFAULT_IQ_TIMEOUT_MS = 30_000;
/** No query waits longer than this, whatever the caller asks. */
export const MAX_IQ_TIMEOUT_MS = 10 * 60_000;

export interface SendIqOptions {
  /** How long to wait for the answer (default 30 s, at most 10 min). */
  timeoutMs?: number;
}

/** No answer in time (or the module went first). */
export class IqTimeoutError extends StanzaError {
  constructor(text = "No answer in time") {
    super("wait", "remote-server-timeout", text);
    this.name = "IqTimeoutError";
  }
}

const TYPES = new Set(["auth", "cancel", "continue", "modify", "wait"]);

/** The StanzaError an `<error/>` element describes (RFC 6120 §8.3.2). */
export function stanzaErrorOf(error: Element | undefined): StanzaError {
  const typeAttr = error?.attrs.type ?? "";
  const type = (TYPES.has(typeAttr) ? typeAttr : "cancel") as StanzaErrorType;
  let condition: StanzaErrorCondition = "undefined-condition";
  let text: string | undefined;
  for (const c of error?.children ?? []) {
    if (typeof c === "string" || c.attrs.xmlns !== NS.stanzas) continue;
    if (c.name === "text") text = c.text();
    else if (condition === "undefined-condition") condition = c.name as StanzaErrorCondition;
  }
  return new StanzaError(type, condition, text, error?.attrs.by);
}

export interface SendIqContext {
  domain: string;
  on(name: string, fn: (ev: StanzaEvent) => boolean): Remover;
  send(stanza: Element): void | Promise<void>;
  /** Tracks a cleanup for unload; returns its remover. */
  track(remover: Remover): Remover;
}

export function sendIq(
  ctx: SendIqContext,
  iq: Element,
  opts: SendIqOptions = {},
): Promise<Element> {
  const type = iq.attrs.type;
  if (iq.name !== "iq" || (type !== "get" && type !== "set")) {
    return Promise.reject(new TypeError("sendIq sends an iq of type get or set"));
  }
  const to = parseJid(iq.attrs.to ?? "");
  if (!to) return Promise.reject(new TypeError("sendIq needs a valid to"));
  const fromAttr = iq.attrs.from ?? ctx.domain;
  const from = parseJid(fromAttr);
  // The answer must come back to this host as an iq event: to the host or an account of it.
  if (!from || from.domain !== ctx.domain || from.resource !== undefined) {
    return Promise.reject(new TypeError("sendIq sends from the host or an account's bare JID"));
  }
  const toTypes = from.local === undefined ? ["host"] : ["bare", "self"];
  const id = "iq-" + randomId();
  iq.setAttr("id", id).setAttr("from", fromAttr);
  const timeoutMs = Math.min(
    Math.max(1, opts.timeoutMs ?? DEFAULT_IQ_TIMEOUT_MS),
    MAX_IQ_TIMEOUT_MS,
  );

  return new Promise<Element>((resolve, reject) => {
    const removers: Remover[] = [];
    let settled = false;
    const finish = () => {
      settled = true;
      for (const r of removers) r();
    };
    const fromTarget = (ev: StanzaEvent) => parseJid(ev.stanza.attrs.from ?? "")?.full === to.full;
    for (const t of toTypes) {
      removers.push(ctx.on(`iq-result/${t}/${id}`, (ev) => {
        if (settled || !fromTarget(ev)) return false;
        finish();
        resolve(ev.stanza);
        return true;
      }));
      removers.push(ctx.on(`iq-error/${t}/${id}`, (ev) => {
        if (settled || !fromTarget(ev)) return false;
        finish();
        reject(stanzaErrorOf(ev.stanza.getChild("error")));
        return true;
      }));
    }
    const timer = setTimeout(() => {
      if (settled) return;
      finish();
      reject(new IqTimeoutError());
    }, timeoutMs);
    // A pending query never keeps the process alive.
    Deno.unrefTimer(timer);
    removers.push(() => clearTimeout(timer));
    // Unloading the module ends the wait.
    removers.push(ctx.track(() => {
      if (settled) return;
      finish();
      reject(new IqTimeoutError("The module was unloaded"));
    }));
    // Listening first: the answer may come back before `send` returns.
    ctx.send(iq);
  });
}
