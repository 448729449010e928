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

    // Inline with SASL2 (XEP-0388 §… / XEP-0198 inline): resume in
    // <authenticate/>, enable in Bind2's <bind/>. Resumption comes last
    // among SASL2 inline handlers: it adopts a session that may receive.
    api.provide("sasl2-inline", {
      ns: NS.sm,
      order: 100,
      feature: (stream) => stream.transport.kind !== "bosh" ? smFeature() : undefined,
      handle: ({ session, element, stream }) => {
        if (element.name !== "resume") return undefined;
        const { reply, resend } = sm.resumeReply(session, element, stream);
        return { element: reply, after: resend };
      },
    });
    api.provide("bind2-inline", {
      ns: NS.sm,
      handle: (session, element, stream) =>
        element.name === "enable" ? sm.enableReply(session, element, stream) : undefined,
    });

    api.hook(
      "session-disconnected",
      ({ session }) => sm.hibernate(session),
    );
    api.hook("resource-unbind", ({ session }) => sm.ended(session));
  },
};
