/**
 * Delivery to external components (XEP-0114). Stanzas to a domain this
 * server does not host fire `<kind>/remote` on the sender's host; this
 * module runs before s2s (priority 10) and takes those addressed to a
 * configured component's domain or a subdomain of it: a connected
 * component gets them on its stream, a disconnected one bounces them
 * with `service-unavailable` (broadcast presence is dropped, as RFC 6121
 * wants for unavailable contacts). The host's disco#items lists every
 * configured component.
 *
 * Connection state comes from the shared `ComponentRegistry`
 * (`api.components`), which the component streams attach to.
 */
import { el } from "../xml/element.ts";
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
      const { name, attrs } = ev.stanza;
      if (name === "presence" && (attrs.type === undefined || attrs.type === "unavailable")) {
        return true;
      }
      if (name === "iq" && attrs.type !== "get" && attrs.type !== "set") return true;
      api.replyError(ev, new StanzaError("cancel", "service-unavailable", "Not connected"));
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
