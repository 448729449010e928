/**
 * Bind2 (XEP-0386) inside a SASL2 `<authenticate/>`: the resource derived
 * from the client's tag and user agent is bound, then the inline enables
 * modules offer (carbons, CSI, SM) run; the answer is `<bound/>`.
 */
import { el, type Element } from "../xml/element.ts";
import { NS } from "../xml/namespaces.ts";
import { logger } from "../log.ts";
import type { Bind2Inline } from "../core/inline_features.ts";
import { bind2Resource } from "./sasl2.ts";
import type { C2sStream } from "./c2s.ts";

const log = logger("c2s");

/** Bind the derived resource and run the inline enables; the `<bound/>` reply, or undefined when refused. */
export function bindInline(
  stream: C2sStream,
  bind: Element,
  userAgentId: string | undefined,
): Element | undefined {
  const session = stream.session;
  const resource = bind2Resource(bind.getChildText("tag"), userAgentId, session.bareJid);
  const refused = stream.services.sessions.bind(session, resource);
  if (refused) {
    // The client learns it from the bare authorization identifier and may bind itself.
    log.info("{who}: Bind2 refused: {err}", { who: stream.who(), err: refused.message });
    return undefined;
  }
  stream.authenticated();
  log.info("{jid} bound (Bind2)", { jid: session.fullJid });
  const host = stream.services.hosts.get(session.host!)!;
  const inline = host.providers.items("bind2-inline");
  const results: Element[] = [];
  // One request per feature: a client repeating a child (a thousand SM
  // enables) gets the first one handled, not an answer for each.
  const handled = new Set<Bind2Inline>();
  for (const child of bind.getChildren()) {
    const handler = inline.find((i) => i.ns === child.attrs.xmlns);
    if (!handler || handled.has(handler)) continue;
    handled.add(handler);
    const result = handler.handle(session, child, stream);
    if (result) results.push(result);
  }
  return el("bound", { xmlns: NS.bind2 }, ...results);
}
