/**
 * The iqs of `urn:xmpp:mam:2` on the user's own account: the query (set),
 * its form (get), the archive metadata (get, §5 of XEP-0313 1.1) and the
 * preferences (XEP-0441, get and set).
 */
import { el } from "../../xml/element.ts";
import { StanzaError } from "../../core/errors.ts";
import type { ModuleApi } from "../../core/module_api.ts";
import type { StanzaEvent } from "../../core/router.ts";
import type { ArchiveStore } from "../../storage/types.ts";
import { parseQueryForm, queryFormElement } from "./query_form.ts";
import { parseRsm } from "./rsm.ts";
import { findPage, type PageLimits } from "./page.ts";
import { finElement, sendPage, stamp } from "./results.ts";
import { noteQuery } from "./offline_interplay.ts";
import { Prefs } from "./prefs.ts";
import type { PrefsStore } from "./prefs_store.ts";
import { NS_MAM } from "./ns.ts";

/** Longest queryid echoed back: the client's own tag, nothing to store. */
export const MAX_QUERYID_LENGTH = 256;

export function installQueryIqs(
  api: ModuleApi,
  archive: ArchiveStore,
  prefs: PrefsStore,
  limits: PageLimits,
): void {
  const self = (type: string, name: string) => `iq-${type}/self/${NS_MAM}:${name}`;

  api.hook(self("set", "query"), async (ev: StanzaEvent) => {
    const session = ev.origin;
    if (!session?.username) return false;
    const query = ev.stanza.firstElement()!;
    const queryid = query.attrs.queryid;
    if (queryid !== undefined && queryid.length > MAX_QUERYID_LENGTH) {
      throw new StanzaError("modify", "bad-request", "queryid too long");
    }
    const filter = parseQueryForm(query, limits.maxMax);
    const rsm = parseRsm(query);
    const flip = query.getChild("flip-page") !== undefined;
    // Before the first await (see offline_interplay.ts).
    const undo = filter.with === undefined && filter.ids === undefined
      ? noteQuery(session, Date.now())
      : undefined;
    let page;
    try {
      page = await findPage(archive, session.username, filter, rsm, limits);
    } catch (err) {
      undo?.();
      throw err;
    }
    const sent = await sendPage(
      session,
      session.bareJid!,
      page,
      queryid,
      flip,
      (item) =>
        api.log.warn("unreadable archived message {id} of {user}", {
          id: item.id,
          user: session.username,
        }),
    );
    if (sent) api.replyResult(ev, finElement(page));
    return true;
  });

  api.hook(self("get", "query"), (ev: StanzaEvent) => {
    api.replyResult(ev, queryFormElement());
    return true;
  });

  api.hook(self("get", "metadata"), async (ev: StanzaEvent) => {
    const user = ev.origin?.username;
    if (user === undefined) return false;
    const [first] = await archive.find(user, { limit: 1 });
    const [last] = await archive.find(user, { limit: 1, reverse: true });
    const metadata = el("metadata", { xmlns: NS_MAM });
    if (first && last) {
      metadata.append(
        el("start", { id: first.id, timestamp: stamp(first.when) }),
        el("end", { id: last.id, timestamp: stamp(last.when) }),
      );
    }
    api.replyResult(ev, metadata);
    return true;
  });

  const prefsIq = (type: "get" | "set") =>
    ({ type, xmlns: NS_MAM, name: "prefs", to: "self" }) as const;
  api.handleIq(prefsIq("get"), async (ev) => {
    const user = ev.origin?.username;
    if (user === undefined) return undefined;
    return (await prefs.get(user)).toElement();
  });

  api.handleIq(prefsIq("set"), async (ev) => {
    const user = ev.origin?.username;
    if (user === undefined) return undefined;
    const next = Prefs.parse(ev.stanza.firstElement()!);
    await prefs.set(user, next);
    return next.toElement();
  });

  // Another user's archive (or a remote entity asking for one): not theirs to read.
  const forbidden = (ev: StanzaEvent) => {
    api.replyError(ev, new StanzaError("auth", "forbidden", "Not your archive"));
    return true;
  };
  for (const type of ["get", "set"]) {
    for (const name of ["query", "metadata", "prefs"]) {
      api.hook(`iq-${type}/bare/${NS_MAM}:${name}`, forbidden);
    }
  }
}
