/**
 * The server's own iq dispatch, on user hosts and service hosts alike: an
 * iq get/set addressed to the host (or, per host kind, a bare or full JID
 * of it) becomes the event `iq-<type>/<to-type>/<xmlns>:<name>` on that
 * host, where modules answer it; nobody answering means
 * `service-unavailable` (RFC 6120 §8.4). Results and errors are answers to
 * the server's own requests: emitted as `iq-<type>/<to-type>/<id>`.
 */
import { StanzaError } from "./errors.ts";
import type { Host } from "./host.ts";
import type { Router, StanzaEvent, ToType } from "./router.ts";

export function installIqDispatch(
  host: Host,
  router: Router,
  toTypes: readonly ToType[],
  priority: number,
): void {
  for (const toType of toTypes) {
    host.events.on("iq/" + toType, (ev: StanzaEvent) => {
      const type = ev.stanza.attrs.type;
      if (type !== "get" && type !== "set") {
        // Answers to the server's own requests (pings…): `iq-result/host/<id>`.
        host.events.emit(`iq-${type}/${toType}/${ev.stanza.attrs.id}`, ev);
        return true;
      }
      const payload = ev.stanza.firstElement()!;
      const name = `iq-${type}/${toType}/${payload.attrs.xmlns ?? ""}:${payload.name}`;
      const r = host.events.fire(name, ev);
      const settle = (handled: boolean) => {
        if (!handled) router.replyError(ev, new StanzaError("cancel", "service-unavailable"));
        return true;
      };
      return typeof r === "boolean" ? settle(r) : r.then(settle);
    }, priority);
  }
}
