/**
 * XMPP Ping (XEP-0199): the server answers pings addressed to it, so
 * clients can check their connection (and the load generator its logins).
 */
import { el } from "../xml/element.ts";
import { NS } from "../xml/namespaces.ts";
import type { ParleyModule } from "../core/module_api.ts";
import type { StanzaEvent } from "../core/router.ts";

export const pingModule: ParleyModule = {
  name: "ping",
  setup(api) {
    api.addFeature(NS.ping);
    api.hook(`iq-get/host/${NS.ping}:ping`, (ev: StanzaEvent) => {
      const iq = ev.stanza;
      ev.origin?.send(
        el("iq", { type: "result", id: iq.attrs.id, to: iq.attrs.from, from: api.domain }),
      );
      return true;
    });
  },
};
