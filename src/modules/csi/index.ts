/**
 * Client State Indication (XEP-0352, urn:xmpp:csi:0). A client tells the
 * server with `<inactive/>` that nobody is looking at it (a phone in a
 * pocket); until `<active/>` the server holds back what can wait (see
 * importance.ts), so the radio wakes up for what matters only.
 *
 * The feature is offered after authentication; the nonzas need no answer
 * (XEP-0352 §4). Holding works through the session's output filter
 * (Session.filter), set only while the client is inactive.
 */
import type { ParleyModule } from "../../core/module_api.ts";
import { el } from "../../xml/element.ts";
import type { Session } from "../../core/session.ts";
import { CSI, HeldOutput, heldOutput } from "./held.ts";

export const NS_CSI = "urn:xmpp:csi:0";

export const csiModule: ParleyModule = {
  name: "csi",
  setup(api) {
    const maxHeld = api.config.csi.maxHeld;

    api.addStreamFeature((session) =>
      session.type === "c2s" ? el("csi", { xmlns: NS_CSI }) : undefined
    );

    const inactive = (session: Session) => {
      if (heldOutput(session)) return;
      const held = new HeldOutput(session, maxHeld);
      session.ext.set(CSI, held);
      session.filter = held;
    };

    // Bind2 (XEP-0386): <inactive/> inside <bind/> starts the session inactive.
    api.provide("bind2-inline", {
      ns: NS_CSI,
      handle: (session, element) => {
        if (element.name === "inactive") inactive(session);
        return undefined;
      },
    });

    api.hook("stream-element", ({ session, element }) => {
      if (element.attrs.xmlns !== NS_CSI || session.type !== "c2s") return false;
      if (element.name === "inactive") {
        inactive(session);
        return true;
      }
      if (element.name === "active") {
        const held = heldOutput(session);
        if (held) {
          session.filter = undefined;
          session.ext.delete(CSI);
          held.flush();
        }
        return true;
      }
      // Anything else in the namespace: unknown, as the core treats it.
      return false;
    });

    // Above stream management (0): what was held joins the outbox's
    // unacknowledged stanzas before those are handed on, newest last.
    api.hook("resource-unbind", ({ session }) => {
      const held = heldOutput(session);
      if (!held) return;
      session.filter = undefined;
      session.ext.delete(CSI);
      held.flush();
    }, 10);
  },
};
