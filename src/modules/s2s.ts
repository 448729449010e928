/**
 * Federation: stanzas for domains this server does not host go to the
 * s2s manager (outgoing server-to-server streams) instead of the core's
 * remote-server-not-found bounce. Off when `s2s.enabled` is false.
 *
 * The stream's local side is the sender's domain: a hosted domain, or an
 * external component's (XEP-0114), whose stanzas then go out on a stream
 * authenticated as the component's domain (a peer accepts only the
 * domains a stream proved, RFC 6120 §4.9.3). A stanza from any other
 * domain is not ours to send and is dropped (logged); one addressed to a
 * component's domain never leaves the server.
 */
import type { ParleyModule } from "../core/module_api.ts";
import type { StanzaEvent } from "../core/router.ts";
import { parseJid } from "../jid.ts";
import { s2sManagerOf } from "../s2s/manager.ts";

export const s2sModule: ParleyModule = {
  name: "s2s",
  setup(api) {
    if (!api.config.s2s.enabled) return;
    const toRemote = (ev: StanzaEvent) => {
      const manager = s2sManagerOf(api.host);
      if (!manager || !ev.to) return false;
      // A component's domain is local: the component module delivers or bounces.
      if (manager.isLocalDomain(ev.to.domain)) return false;
      let stanza = ev.stanza;
      const from = stanza.attrs.from === undefined ? undefined : parseJid(stanza.attrs.from);
      // RFC 6120 §8.1.2.2: s2s stanzas always carry a from; server-made ones get the host's.
      if (!from) stanza = stanza.clone().setAttr("from", api.domain);
      const local = from ? from.domain : api.domain;
      if (!manager.isLocalDomain(local)) {
        api.log.warn("not relaying a {kind} from {from} to {to}: {domain} is not a local domain", {
          kind: stanza.name,
          from: stanza.attrs.from,
          to: stanza.attrs.to,
          domain: local,
        });
        return true;
      }
      manager.send(local, ev.to.domain, stanza);
      return true;
    };
    for (const kind of ["message", "presence", "iq"]) api.hook(kind + "/remote", toRemote, 0);
  },
};
