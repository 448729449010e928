/**
 * Federation: stanzas for domains this server does not host go to the
 * s2s manager (outgoing server-to-server streams) instead of the core's
 * remote-server-not-found bounce. Off when `s2s.enabled` is false.
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
      let stanza = ev.stanza;
      const from = stanza.attrs.from === undefined ? undefined : parseJid(stanza.attrs.from);
      // RFC 6120 §8.1.2.2: s2s stanzas always carry a from; server-made ones get the host's.
      if (!from) stanza = stanza.clone().setAttr("from", api.domain);
      const local = from && manager.hosts.has(from.domain) ? from.domain : api.domain;
      manager.send(local, ev.to.domain, stanza);
      return true;
    };
    for (const kind of ["message", "presence", "iq"]) api.hook(kind + "/remote", toRemote, 0);
  },
};
