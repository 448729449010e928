/**
 * XEP-0402 `urn:xmpp:bookmarks:1#compat-pep`: XEP-0048 bookmarks kept in
 * PEP (node `storage:bookmarks`, one item holding `<storage/>`, as
 * XEP-0223 stores private data) and bookmarks 2 kept in step:
 * - a publish to `storage:bookmarks` becomes publishes and retracts on
 *   bookmarks 2 (as a write through private storage does);
 * - a change of bookmarks 2 republishes `storage:bookmarks` (item
 *   `current`) when the account has that node, so older clients with its
 *   `+notify` see it.
 * The second direction only into a `storage:bookmarks` node no more
 * readable than bookmarks 2 (whitelist, or the same access model).
 * While one direction runs for an account the other is not triggered, so
 * the two never echo each other.
 */
import type { ModuleApi } from "../../../core/module_api.ts";
import { parseElement } from "../../../util/xml_fragment.ts";
import {
  legacyFromNode,
  NS_BOOKMARKS2,
  NS_BOOKMARKS_LEGACY,
  syncFromLegacy,
} from "./bookmarks_compat.ts";
import type { PepPublishedEvent, PepRemovedEvent, PepService } from "./service.ts";

export const NS_BOOKMARKS2_COMPAT_PEP = NS_BOOKMARKS2 + "#compat-pep";

export function installBookmarksCompatPep(api: ModuleApi, pep: PepService): void {
  /** Accounts whose one direction is running (its own changes are not mirrored back). */
  const syncing = new Set<string>();
  const guarded = async (user: string, job: () => Promise<void>) => {
    syncing.add(user);
    try {
      await job();
    } finally {
      syncing.delete(user);
    }
  };

  const republish = async (user: string) => {
    const legacy = await pep.engine.getNode(user, NS_BOOKMARKS_LEGACY);
    if (!legacy) return;
    // Bookmarks (room passwords too) go no wider than their own node lets
    // them: an old client may have made the XEP-0048 node readable by
    // contacts (PEP's default, presence), never meant for what a XEP-0402
    // client stored privately.
    const modern = await pep.engine.getNode(user, NS_BOOKMARKS2);
    const access = legacy.config.access_model;
    if (access !== "whitelist" && access !== modern?.config.access_model) return;
    const payload = await legacyFromNode(pep, user);
    // `<url/>` bookmarks have no place in bookmarks 2: the old item's stay.
    const last = await pep.engine.lastItem(user, legacy);
    for (const url of parseElement(last?.payload ?? "")?.getChildren("url") ?? []) {
      payload.append(url);
    }
    await guarded(user, async () => {
      await pep.publish(user, {
        node: NS_BOOKMARKS_LEGACY,
        id: "current",
        payload,
        publisher: pep.bareOf(user),
      });
    });
  };

  api.hook<PepPublishedEvent>("pep-published", async ({ username, node, payload }) => {
    if (syncing.has(username)) return;
    if (node === NS_BOOKMARKS2) return void await republish(username);
    if (node !== NS_BOOKMARKS_LEGACY) return;
    if (payload?.name !== "storage" || payload.attrs.xmlns !== NS_BOOKMARKS_LEGACY) return;
    const access = (await pep.engine.getNode(username, NS_BOOKMARKS_LEGACY))?.config.access_model;
    await guarded(username, () => syncFromLegacy(pep, username, payload, access));
  });

  api.hook<PepRemovedEvent>("pep-removed", async ({ username, node }) => {
    if (node === NS_BOOKMARKS2 && !syncing.has(username)) await republish(username);
  });
}
