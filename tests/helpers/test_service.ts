/**
 * A tiny service module for service-host tests (it stands in for `muc` or
 * `pubsub`): on its service host it answers `<echo xmlns='urn:test:echo'/>`
 * gets to the service and to any address at it, echoes messages sent to
 * an address at it, and answers available presence to a full JID under it
 * as a room would a join. Everything else is left to the core.
 */
import { el } from "../../src/xml/element.ts";
import type { ParleyModule } from "../../src/core/module_api.ts";
import type { StanzaEvent } from "../../src/core/router.ts";
import { NS } from "../../src/xml/namespaces.ts";

export const NS_ECHO = "urn:test:echo";

export const testServiceModule: ParleyModule = {
  name: "test_service",
  setup(api) {
    const echo = (toType: string) => (ev: StanzaEvent) => {
      api.replyResult(ev, el("echo", { xmlns: NS_ECHO, host: api.domain, to: toType }));
      return true;
    };
    api.hook(`iq-get/host/${NS_ECHO}:echo`, echo("host"));
    api.hook(`iq-get/bare/${NS_ECHO}:echo`, echo("bare"));
    api.hook(`iq-get/host/${NS.discoInfo}:query`, (ev) => {
      api.replyResult(
        ev,
        el(
          "query",
          { xmlns: NS.discoInfo },
          el("identity", { category: "conference", type: "text", name: "Test service" }),
          el("feature", { var: NS_ECHO }),
        ),
      );
      return true;
    });
    api.hook("message/bare", (ev) => {
      const body = ev.stanza.getChildText("body");
      if (body === undefined) return false; // left to the core: service-unavailable
      api.send(
        el(
          "message",
          {
            to: ev.stanza.attrs.from,
            from: ev.to!.bare,
            type: "groupchat",
            id: ev.stanza.attrs.id,
          },
          el("body", {}, "echo: " + body),
        ),
      );
      return true;
    });
    api.hook("presence/full", (ev) => {
      if (ev.stanza.attrs.type !== undefined) return false;
      api.send(
        el("presence", { to: ev.stanza.attrs.from, from: ev.to!.full, id: ev.stanza.attrs.id }),
      );
      return true;
    });
  },
};

/** startTestServer options that serve the test service as `muc` on conference.<domain>. */
export const SERVICE_OPTIONS = {
  extraModules: [testServiceModule],
  serviceModules: { muc: ["test_service"] },
};
