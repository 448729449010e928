/**
 * Message Archive Management (XEP-0313 `urn:xmpp:mam:2` with
 * `#extended`), unique and stable stanza ids (XEP-0359) and archiving
 * preferences (XEP-0441), backed by the host's `archive` store: one item
 * per message and user, keyed by the other party's bare JID, valued by
 * the serialized stanza. docs/archive.md states the rules.
 *
 * Event priorities (issue 10's shared contract): archiving at 10 on the
 * message events of both sides, above push (7), carbons (5) and core
 * delivery (-1000); the sender's stanza-id removed at 1 on pre-message.
 */
import type { ParleyModule } from "../../core/module_api.ts";
import { Archiver } from "./archiver.ts";
import { installQueryIqs } from "./query_iq.ts";
import { PrefsStore } from "./prefs_store.ts";
import { ArchiveQuota } from "./quota.ts";
import { RetentionSweeper } from "./retention.ts";
import { answerReplay } from "./offline_interplay.ts";
import { NS_MAM, NS_MAM_EXTENDED, NS_SID } from "./ns.ts";

/** Above push (7) and carbons (5): they see the stamped stanza-id. */
export const ARCHIVE_PRIORITY = 10;
/** Below carbons (5), above delivery: the sender's id is gone before the message leaves. */
export const UNSTAMP_PRIORITY = 1;
/** RSM indexes served by walking the set (see page.ts). */
const MAX_INDEX = 10_000;

export const mamModule: ParleyModule = {
  name: "mam",
  setup(api) {
    const config = api.config.mam;
    const archive = api.archive("archive");
    const prefs = new PrefsStore(api.keyval("mam_prefs"), config.default);
    const quota = new ArchiveQuota(archive, config.maxMessagesPerUser);
    const archiver = new Archiver(api, archive, prefs, quota);
    for (const ns of [NS_MAM, NS_MAM_EXTENDED, NS_SID]) api.addAccountFeature(ns);

    for (const kind of ["bare", "full", "self"]) {
      api.hook(`message/${kind}`, archiver.incoming, ARCHIVE_PRIORITY);
    }
    for (const kind of ["bare", "full", "remote"]) {
      api.hook(`pre-message/${kind}`, archiver.outgoing, ARCHIVE_PRIORITY);
      api.hook(`pre-message/${kind}`, archiver.unstamp, UNSTAMP_PRIORITY);
    }

    installQueryIqs(api, archive, prefs, {
      defaultMax: Math.min(config.defaultPageSize, config.maxPageSize),
      maxMax: config.maxPageSize,
      maxIndex: MAX_INDEX,
    });

    api.hook("offline/replay", answerReplay);
    api.hook("user-deleted", ({ username }) => {
      prefs.forget(username);
      quota.forget(username);
    });

    const retention = new RetentionSweeper(archive, config.retentionDays, api.log);
    retention.start();
    api.hook("server-stopping", () => retention.stop());
    // Operators and tests: sweep now (resolves to how many items expired).
    api.hook("mam/expire", async (ev) => {
      ev.expired = await retention.sweep();
      return true;
    });
  },
};
