/**
 * Message Carbons (XEP-0280, `urn:xmpp:carbons:2`): every resource of a
 * user that asks for it sees both sides of the user's conversations —
 * `<received/>` copies of messages delivered to the user's other
 * resources, `<sent/>` copies of what the other resources sent. Copies
 * are ordinary stanzas written to the session (`Session.send`), so
 * stream management acknowledges and resumes them like any other.
 *
 * One job per file: toggle.ts (enable/disable), eligibility.ts (which
 * messages), sent.ts and received.ts (the copies), wrap.ts (the copy
 * itself), unacked.ts (copies a session never took), state.ts (the
 * per-session flag).
 */
import type { ParleyModule } from "../../core/module_api.ts";
import { NS_CARBONS, NS_CARBONS_RULES } from "./ns.ts";
import { installReceived } from "./received.ts";
import { installSent } from "./sent.ts";
import { installToggle } from "./toggle.ts";
import { installUnackedFilter } from "./unacked.ts";
import { setCarbons } from "./state.ts";

export const carbonsModule: ParleyModule = {
  name: "carbons",
  setup(api) {
    // A server feature (§3): clients ask their server's disco#info.
    api.addFeature(NS_CARBONS);
    api.addFeature(NS_CARBONS_RULES);
    installToggle(api);
    // Bind2 (XEP-0386): <enable xmlns='urn:xmpp:carbons:2'/> inside <bind/>; no answer.
    api.provide("bind2-inline", {
      ns: NS_CARBONS,
      handle: (session, element) => {
        if (element.name === "enable") setCarbons(session, true);
        return undefined;
      },
    });
    installSent(api);
    installReceived(api);
    installUnackedFilter(api);
  },
};
