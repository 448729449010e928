/**
 * Legacy session establishment (RFC 3921 §3, kept optional by RFC 6121
 * Appendix E): old clients send `<session/>` after binding and wait for
 * the result. Offered as `<optional/>` so new clients skip it.
 */
import { el } from "../xml/element.ts";
import { NS } from "../xml/namespaces.ts";
import type { ParleyModule } from "../core/module_api.ts";
import type { StanzaEvent } from "../core/router.ts";

export const sessionModule: ParleyModule = {
  name: "session",
  setup(api) {
    api.addStreamFeature((session) =>
      session.type === "c2s" && session.fullJid === undefined
        ? el("session", { xmlns: NS.session }, el("optional"))
        : undefined
    );
    const reply = (ev: StanzaEvent) => {
      api.replyResult(ev);
      return true;
    };
    api.hook(`iq-set/host/${NS.session}:session`, reply);
    api.hook(`iq-set/self/${NS.session}:session`, reply);
  },
};
