/**
 * Who gets a node's notification: candidates the service found (PEP:
 * contacts' resources whose caps ask for `<node>+notify`) that may access
 * the node, and its explicit subscribers. Access is decided once per bare
 * JID, however many resources it has.
 */
import { parseJid } from "../../../jid.ts";
import type { StoredNode } from "./types.ts";
import { accessError, type Relations } from "./access.ts";

export async function notificationTargets(
  node: StoredNode,
  candidates: Iterable<string>,
  relations: Relations,
): Promise<string[]> {
  if (!node.config.deliver_notifications) return [];
  const out = new Set<string>();
  const allowed = new Map<string, boolean>();
  const all = [...candidates, ...Object.keys(node.subscriptions)];
  for (const jid of all) {
    if (out.has(jid)) continue;
    const bare = parseJid(jid)?.bare;
    if (bare === undefined) continue;
    let ok = allowed.get(bare);
    if (ok === undefined) {
      ok = (await accessError(node, bare, relations)) === undefined;
      allowed.set(bare, ok);
    }
    if (ok) out.add(jid);
  }
  return [...out];
}
