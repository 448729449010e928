/**
 * Which messages the archive keeps (XEP-0313 §5.1.1, XEP-0334): chat and
 * normal messages with a body or another payload worth keeping (an
 * encrypted body, a receipt, a marker, a correction…). Not: error,
 * groupchat and headline messages; chat states alone (XEP-0085: stale
 * the moment they are read back); a bare `<thread/>`; our own ids and
 * hints. XEP-0334 hints decide first: `no-store` and `no-permanent-store`
 * keep a message out, `store` keeps any chat/normal message.
 */
import type { Element } from "../../xml/element.ts";
import { messageType } from "../../core/delivery.ts";
import { worthKeeping } from "../../util/storage_hints.ts";
import { NS_CARBONS, NS_CHATSTATES, NS_HINTS, NS_MAM, NS_SID } from "./ns.ts";

/** Payload namespaces that are not content on their own. */
const NOT_CONTENT = new Set([
  NS_CHATSTATES,
  NS_HINTS,
  NS_SID,
  // A MAM result or a carbon copy is a copy of something archived elsewhere.
  NS_MAM,
  NS_CARBONS,
  "urn:xmpp:delay",
]);

export function archivable(message: Element): boolean {
  const type = messageType(message);
  return (type === "chat" || type === "normal") && worthKeeping(message, isContent);
}

function isContent(c: Element): boolean {
  const ns = c.attrs.xmlns;
  // <thread/> and <error/> alone say nothing; <body/> and <subject/> do.
  if (ns === undefined) return c.name !== "thread" && c.name !== "error";
  return !NOT_CONTENT.has(ns);
}
