/**
 * Blocking command (XEP-0191): users block JIDs (accounts, resources or
 * whole domains); the server keeps the list, pushes changes to the user's
 * resources and stops every stanza between the user and a blocked JID.
 */
import type { Element } from "../../xml/element.ts";
import type { ParleyModule } from "../../core/module_api.ts";
import type { BlockQuery } from "../../core/presence_queries.ts";
import type { Session } from "../../core/session.ts";
import type { UserDeletedEvent } from "../../core/accounts.ts";
import { parseJid } from "../../jid.ts";
import { BlockLists, isBlocked } from "./lists.ts";
import { installCommands, NS_BLOCKING } from "./commands.ts";
import { installEnforcement } from "./enforce.ts";

export const blockingModule: ParleyModule = {
  name: "blocking",
  setup(api) {
    const lists = new BlockLists(api.map("blocking"));
    const interested = new WeakSet<Session>();
    const exempt = new WeakSet<Element>();
    api.addFeature(NS_BLOCKING);
    installCommands({ api, lists, interested, exempt });
    installEnforcement(api, lists, exempt);
    api.hook("user-deleted", (ev: UserDeletedEvent) => void lists.forget(ev.username));
    // For modules that deliver on a user's behalf without routing (the
    // presence module's local probe answers): `blocked` is set when
    // `owner` blocks `jid`.
    api.hook("blocking/is-blocked", async (q: BlockQuery) => {
      const jid = parseJid(q.jid);
      q.blocked = jid !== undefined && isBlocked(await lists.get(q.owner), jid);
      return true;
    });
  },
};
