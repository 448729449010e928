/**
 * Ad-hoc commands (XEP-0050) on the host JID, with the XEP-0133 service
 * administration subset. Commands are listed in disco#items of the
 * commands node (through the disco module's node events) only to
 * requesters allowed to run them.
 *
 * Any module of the host adds a command with
 * `api.provide("adhoc-command", command)` (the admin commands are
 * provided that way too); the list is read on each request, so commands
 * of modules loaded later, or unloaded, are seen.
 */
import { el, type Element } from "../../xml/element.ts";
import { NS } from "../../xml/namespaces.ts";
import { parseJid } from "../../jid.ts";
import type { ModuleApi, ParleyModule } from "../../core/module_api.ts";
import type { StanzaEvent } from "../../core/router.ts";
import { NS_DATA } from "../../util/dataforms.ts";
import { adminCommands } from "./admin_commands.ts";
import { CommandError, runCommand } from "./execute.ts";
import { CommandSessions } from "./sessions.ts";
import { type AdhocCommand, NS_COMMANDS } from "./types.ts";

/** What the disco module fires for a request with a `node`. */
interface DiscoNodeEvent {
  ev: StanzaEvent;
  /** The result `<query/>` to fill. */
  query: Element;
}

export const adhocModule: ParleyModule = {
  name: "adhoc",
  setup(api) {
    for (const c of adminCommands(api)) api.provide("adhoc-command", c);
    /** The commands provided now, by node (the first provided wins a node). */
    const commands = (): ReadonlyMap<string, AdhocCommand> => {
      const byNode = new Map<string, AdhocCommand>();
      for (const c of api.items("adhoc-command")) if (!byNode.has(c.node)) byNode.set(c.node, c);
      return byNode;
    };
    const sessions = new CommandSessions();
    api.addFeature(NS_COMMANDS);
    /** Straight to the requesting session when local, so it precedes anything `after` does. */
    const send = (ev: StanzaEvent, iq: Element) => {
      iq.setAttr("to", ev.stanza.attrs.from);
      api.reply(ev, iq);
    };

    api.hook(`iq-set/host/${NS_COMMANDS}:command`, async (ev: StanzaEvent) => {
      const iq = ev.stanza;
      const node = iq.getChild("command", NS_COMMANDS)!.attrs.node;
      try {
        const { reply, after } = await runCommand(
          commands(),
          sessions,
          iq.attrs.from!,
          iq.getChild("command", NS_COMMANDS)!,
        );
        send(ev, el("iq", { type: "result", id: iq.attrs.id, from: api.domain }, reply));
        // The reply is out: a failure now can only be logged.
        await after?.().catch((err) =>
          api.log.error("command {node} failed: {err}", { node, err })
        );
      } catch (err) {
        if (!(err instanceof CommandError)) throw err; // the router answers StanzaErrors
        send(ev, el("iq", { type: "error", id: iq.attrs.id, from: api.domain }, err.toElement()));
      }
      return true;
    });

    setupDisco(api, commands);
  },
};

function setupDisco(api: ModuleApi, commands: () => ReadonlyMap<string, AdhocCommand>): void {
  const requester = (ev: StanzaEvent) => {
    const jid = parseJid(ev.stanza.attrs.from ?? "");
    return jid && { requester: jid };
  };

  // XEP-0050 §2.2: the list holds only what this requester may execute.
  api.hook(`disco-items-node/${NS_COMMANDS}`, ({ ev, query }: DiscoNodeEvent) => {
    const ctx = requester(ev);
    for (const c of commands().values()) {
      if (ctx && c.allowed(ctx)) {
        query.append(el("item", { jid: api.domain, node: c.node, name: c.name }));
      }
    }
    return true;
  });
  api.hook(`disco-info-node/${NS_COMMANDS}`, ({ query }: DiscoNodeEvent) => {
    query.append(
      el("identity", { category: "automation", type: "command-list", name: "Commands" }),
      el("feature", { var: NS.discoItems }),
    );
    return true;
  });
  // §2.3: each command node describes itself; hidden from who may not run
  // it. Answered above the disco module, whose node events have fixed
  // names, while commands come and go: any other node is left to it.
  api.handleIq({ type: "get", xmlns: NS.discoInfo, name: "query", priority: 1 }, (ev) => {
    const node = ev.stanza.firstElement()!.attrs.node;
    const c = node === undefined ? undefined : commands().get(node);
    const ctx = requester(ev);
    if (!c || !ctx || !c.allowed(ctx)) return undefined;
    return el(
      "query",
      { xmlns: NS.discoInfo, node },
      el("identity", { category: "automation", type: "command-node", name: c.name }),
      el("feature", { var: NS_COMMANDS }),
      el("feature", { var: NS_DATA }),
    );
  });
}
