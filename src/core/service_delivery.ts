/**
 * What a service host (an internal component such as `conference.<domain>`)
 * does with stanzas its service module left alone. No accounts live there,
 * so nothing is delivered: registered at the lowest priority, like core
 * delivery on user hosts, these only answer what must be answered.
 *
 * - iq get/set to the service, an address at it (a room) or a full JID
 *   under it (an occupant) becomes `iq-<type>/<to-type>/<xmlns>:<name>`
 *   (iq_dispatch.ts); unanswered → `service-unavailable`.
 * - message: `service-unavailable` (RFC 6120 §8.3.3.19; RFC 6121 §8.5.1
 *   allows it for an address with nobody behind it), except errors, which
 *   are never answered (RFC 6120 §8.3.1).
 * - presence: a subscription request gets `service-unavailable` (RFC 6121
 *   §8.5.1 (b)); available, unavailable, probe, subscribed, unsubscribe,
 *   unsubscribed and error presence are ignored, as §8.5.1 requires
 *   (logged at debug level).
 */
import { StanzaError } from "./errors.ts";
import type { Host } from "./host.ts";
import type { Router, StanzaEvent } from "./router.ts";
import { installIqDispatch } from "./iq_dispatch.ts";
import { DELIVERY_PRIORITY } from "./delivery.ts";
import { logger } from "../log.ts";

const log = logger("router");

export function installServiceDelivery(host: Host, router: Router): void {
  const unavailable = (ev: StanzaEvent) =>
    router.replyError(ev, new StanzaError("cancel", "service-unavailable"));
  for (const toType of ["host", "bare", "full"] as const) {
    host.events.on("message/" + toType, (ev: StanzaEvent) => {
      if (ev.stanza.attrs.type !== "error") unavailable(ev);
      return true;
    }, DELIVERY_PRIORITY);
    host.events.on("presence/" + toType, (ev: StanzaEvent) => {
      const type = ev.stanza.attrs.type;
      if (type === "subscribe") unavailable(ev);
      else {
        log.debug("{domain}: presence of type {type} to {to} ignored (no service took it)", {
          domain: host.domain,
          type: type ?? "available",
          to: ev.stanza.attrs.to,
        });
      }
      return true;
    }, DELIVERY_PRIORITY);
  }
  installIqDispatch(host, router, ["host", "bare", "full"], DELIVERY_PRIORITY);
}
