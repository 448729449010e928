/**
 * What becomes of the stanzas a session never had acknowledged when it
 * ends (its hibernation expired, it overflowed, the client closed, it was
 * replaced). XEP-0198 §5 says to treat them as stanzas sent to an
 * unavailable resource (RFC 6121 §8.5.3.2):
 *
 * - messages go through the host's `undelivered` event (core delivery):
 *   chat and normal to offline storage, in order, bounced when storage
 *   refuses them; others dropped. Never resent to this resource: the
 *   session is gone, so they are stored once and delivered at the next
 *   login;
 * - iq get/set are answered for the client with service-unavailable, so
 *   the requester does not wait forever; iq result/error are dropped;
 * - presence is dropped: it is state the client gets again (probes,
 *   presence broadcast) when it comes back.
 */
import type { ModuleApi } from "../../core/module_api.ts";
import { StanzaError } from "../../core/errors.ts";
import type { Session } from "../../core/session.ts";
import type { Element } from "../../xml/element.ts";
import { parseJid } from "../../jid.ts";

export function handleUnacked(api: ModuleApi, session: Session, stanzas: Element[]): void {
  if (stanzas.length === 0) return;
  const messages: Element[] = [];
  const to = parseJid(session.fullJid ?? "");
  for (const stanza of stanzas) {
    if (stanza.name === "message") messages.push(stanza);
    else if (stanza.name === "iq" && to) {
      const type = stanza.attrs.type;
      if (type !== "get" && type !== "set") continue;
      api.replyError(
        { origin: undefined, stanza, to, host: api.host },
        new StanzaError("cancel", "service-unavailable"),
      );
    }
  }
  if (messages.length === 0) return;
  api.log.info("{jid}: {n} unacknowledged messages go to offline storage", {
    jid: session.fullJid,
    n: messages.length,
  });
  api.emit("undelivered", { session, stanzas: messages });
}
