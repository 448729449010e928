/**
 * Delivery to external components (XEP-0114): the one place that routes a
 * stanza to a component's domain, whoever sent it. Stanzas to a domain
 * this server does not host fire `<kind>/remote` on a host — from a local
 * client (Router.fromClient), from a peer server or another component
 * (Router.fromPeer, which accepts a component's domain as ours), or from
 * the server itself (Router.route). This module runs before s2s
 * (priority 10) and takes those addressed to a configured component's
 * domain or a subdomain of it: a connected component gets them on its
 * stream; a disconnected one is handled by `whenDisconnected`. The host's
 * disco#items lists every configured component.
 *
 * Connection state comes from the shared `ComponentRegistry`
 * (`api.components`), which the component streams attach to.
 */
import { el, type Element } from "../xml/element.ts";
import { StanzaError } from "../core/errors.ts";
import type { ParleyModule } from "../core/module_api.ts";
import type { StanzaEvent } from "../core/router.ts";
import type { DiscoItemsEvent } from "./disco.ts";

/** Above s2s (0) and core delivery (-1000). */
const PRIORITY = 10;

export const componentModule: ParleyModule = {
  name: "component",
  setup(api) {
    const components = api.components;
    if (components.size === 0) return;

    const deliver = (ev: StanzaEvent): boolean => {
      const to = ev.to;
      if (to === undefined) return false;
      const owner = components.owner(to.domain);
      if (owner === undefined) return false;
      const link = components.link(owner);
      if (link) {
        link.send(ev.stanza);
        return true;
      }
      const error = whenDisconnected(ev.stanza);
      if (error) api.replyError(ev, error);
      return true;
    };
    for (const kind of ["message", "presence", "iq"]) {
      api.hook(kind + "/remote", deliver, PRIORITY);
    }

    api.hook<DiscoItemsEvent>("disco-items/host", ({ items }) => {
      for (const domain of components.domains) items.push(el("item", { jid: domain }));
    });
  },
};

/**
 * What a stanza to a configured but disconnected component gets.
 *
 * The domain is this server's (the component is part of its service), so
 * the remote-domain errors of RFC 6120 §10.4.3 (`remote-server-not-found`:
 * cannot resolve or connect; `remote-server-timeout`: resolved but no
 * stream in time) do not fit: nothing was resolved or attempted. The
 * service is configured and temporarily absent, which §8.3.3.19 names
 * `service-unavailable` (type cancel).
 *
 * Never bounced (undefined: dropped):
 * - type=error, ever (RFC 6120 §8.3.1: no error about an error, or two
 *   servers could loop);
 * - iq result (§8.2.3: a response is not answered);
 * - broadcast and unavailable presence: nobody is there to be told, and
 *   an error back would only reach the sender's roster machinery as
 *   noise (RFC 6121 drops presence to unavailable contacts the same way).
 * Router.replyError enforces the first two for every error reply too.
 */
function whenDisconnected(stanza: Element): StanzaError | undefined {
  const { name, attrs } = stanza;
  if (attrs.type === "error") return undefined;
  if (name === "presence" && (attrs.type === undefined || attrs.type === "unavailable")) {
    return undefined;
  }
  if (name === "iq" && attrs.type !== "get" && attrs.type !== "set") return undefined;
  return new StanzaError("cancel", "service-unavailable", "Not connected");
}
