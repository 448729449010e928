/**
 * Enabling and disabling carbons (XEP-0280 §4, §5): an iq set from the
 * resource itself, to its own account (no `to`, or its bare JID) — or to
 * the server, which some clients address. It applies to the requesting
 * session only. Repeating either is no error (§10.1). Anyone else (a
 * contact, a remote entity) gets `not-allowed`, as §4.1 and §5.1
 * recommend for requests not from a client of this server.
 */
import { StanzaError } from "../../core/errors.ts";
import type { ModuleApi } from "../../core/module_api.ts";
import type { StanzaEvent } from "../../core/router.ts";
import { NS_CARBONS } from "./ns.ts";
import { setCarbons } from "./state.ts";

export function installToggle(api: ModuleApi): void {
  for (const name of ["enable", "disable"]) {
    const on = name === "enable";
    const own = (ev: StanzaEvent): typeof api.EMPTY_RESULT => {
      const session = ev.origin;
      if (!session || session.host !== api.domain) {
        throw new StanzaError("cancel", "not-allowed", "Carbons are for this server's own clients");
      }
      setCarbons(session, on);
      api.log.debug("{jid}: carbons {state}", { jid: session.fullJid, state: name + "d" });
      return api.EMPTY_RESULT;
    };
    const route = { type: "set", xmlns: NS_CARBONS, name } as const;
    api.handleIq({ ...route, to: ["self", "host"] }, own);
    // Another user's account: nobody switches carbons for someone else.
    api.handleIq({ ...route, to: "bare" }, () => {
      throw new StanzaError("cancel", "not-allowed", "Carbons are switched by the resource itself");
    });
  }
}
