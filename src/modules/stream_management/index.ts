/**
 * Stream Management (XEP-0198, urn:xmpp:sm:3) for client streams: acks
 * both ways, ack requests by count and time, and resumption — a session
 * whose connection drops waits (hibernates) for the client to come back
 * on a new connection of any transport, then gets what it missed.
 *
 * Built on the core's session model: the outbox counts and keeps the
 * stanzas, `session-disconnected` is where a session is kept instead of
 * destroyed, `stream.adopt` moves it to the new stream, and
 * `resource-unbind` is where an ended session's unacknowledged stanzas
 * are handed on (undeliverable.ts).
 */
import type { ParleyModule } from "../../core/module_api.ts";
import { NS } from "../../xml/namespaces.ts";
import { SmManager } from "./manager.ts";
import { smFeature } from "./protocol.ts";
import { smState } from "./state.ts";

export const streamManagementModule: ParleyModule = {
  name: "stream_management",
  setup(api) {
    const sm = new SmManager(api);

    // Offered with bind (after authentication): <enable/> once bound,
    // <resume/> instead of binding. BOSH carries its own acks.
    api.addStreamFeature((session) =>
      session.type === "c2s" && session.transport?.kind !== "bosh" ? smFeature() : undefined
    );

    api.hook("stream-element", ({ session, element, stream }) => {
      if (element.attrs.xmlns !== NS.sm) return false;
      // Before authentication nothing here applies: the core ends the stream.
      if (session.type !== "c2s") return false;
      switch (element.name) {
        case "enable":
          sm.enable(session, element, stream);
          return true;
        case "resume":
          sm.resume(session, element, stream);
          return true;
        case "r":
        case "a": {
          // Before <enable/>, as any element the stream does not know.
          const state = smState(session);
          if (!state) return false;
          if (element.name === "r") sm.request(session);
          else sm.acknowledged(state, element);
          return true;
        }
      }
      return false;
    });

    api.hook(
      "session-disconnected",
      ({ session }) => sm.hibernate(session),
    );
    api.hook("resource-unbind", ({ session }) => sm.ended(session));
  },
};
