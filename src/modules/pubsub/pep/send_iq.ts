/**
 * A tiny send-an-iq-and-await-the-answer helper for server-originated
 * queries, until the module API's `sendIq` lands (the lead folds this
 * into it). The iq goes out from the host's domain, so its answer comes
 * back as `iq-result/host/<id>` or `iq-error/host/<id>`; only an answer
 * from the addressee counts.
 */
import { StanzaError } from "../../../core/errors.ts";
import type { ModuleApi } from "../../../core/module_api.ts";
import type { StanzaEvent } from "../../../core/router.ts";
import { parseJid } from "../../../jid.ts";
import { el, type Element } from "../../../xml/element.ts";
import { randomId } from "../../../util/random.ts";

export function sendIqFromHost(
  api: ModuleApi,
  to: string,
  type: "get" | "set",
  payload: Element,
  timeoutMs: number,
): Promise<Element> {
  const id = "pep-" + randomId(12);
  const target = parseJid(to)?.full;
  return new Promise<Element>((resolve, reject) => {
    const fromTarget = (ev: StanzaEvent) => parseJid(ev.stanza.attrs.from ?? "")?.full === target;
    const done = () => {
      offResult();
      offError();
      clearTimeout(timer);
    };
    const offResult = api.host.events.on<StanzaEvent>(`iq-result/host/${id}`, (ev) => {
      if (!fromTarget(ev)) return false;
      done();
      resolve(ev.stanza);
      return true;
    });
    const offError = api.host.events.on<StanzaEvent>(`iq-error/host/${id}`, (ev) => {
      if (!fromTarget(ev)) return false;
      done();
      reject(new StanzaError("cancel", "undefined-condition", "error reply"));
      return true;
    });
    const timer = setTimeout(() => {
      done();
      reject(new StanzaError("wait", "remote-server-timeout"));
    }, timeoutMs);
    Deno.unrefTimer(timer);
    void api.send(el("iq", { type, id, from: api.domain, to }, payload));
  });
}
