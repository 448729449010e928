/**
 * Archiving as messages pass (XEP-0313 §3, XEP-0359). Both directions:
 *
 * - `message/bare`, `message/full`, `message/self` (the recipient's side,
 *   for messages from local clients and from other servers alike): a
 *   `<stanza-id/>` claiming to be from the recipient's archive is forged
 *   and removed, always, as is a forged MAM `<result/>` (forged.ts);
 *   then an archivable message the user's
 *   preferences allow is stored and stamped with the recipient's
 *   `<stanza-id/>`, which every resource, the offline copy and the
 *   carbons then carry.
 * - `pre-message/*` (a local client sending): the sender's copy is
 *   archived and its `<stanza-id by=sender/>` put into the stanza for the
 *   handlers that copy it back to the sender (carbons, priority 5); at
 *   priority 1, before it leaves, that id is removed again: XEP-0313 §3.5
 *   keeps a user's archive ids from their contacts.
 *
 * The write is not awaited (storage batches it; a failure is logged):
 * routing never waits for the archive, except for a user's first message
 * after their preferences dropped out of the cache.
 */
import { type Element, serialize } from "../../xml/element.ts";
import { type Jid, parseJid } from "../../jid.ts";
import type { ModuleApi } from "../../core/module_api.ts";
import type { StanzaEvent } from "../../core/router.ts";
import type { ArchiveStore } from "../../storage/types.ts";
import { newArchiveId } from "../../storage/schema.ts";
import { rosterHas } from "../roster/roster_read.ts";
import { archivable } from "./eligibility.ts";
import { stampStanzaId, stripStanzaIds } from "./stanza_id.ts";
import { archivedForm, stripForgedResults } from "./forged.ts";
import type { Prefs } from "./prefs.ts";
import type { PrefsStore } from "./prefs_store.ts";
import type { ArchiveQuota } from "./quota.ts";

type Result = boolean | Promise<boolean>;

export class Archiver {
  constructor(
    readonly api: ModuleApi,
    readonly archive: ArchiveStore,
    readonly prefs: PrefsStore,
    readonly quota: ArchiveQuota,
  ) {}

  /** The recipient's side. Never stops the event. */
  incoming = (ev: StanzaEvent): false | Promise<false> => {
    const to = ev.to ?? parseJid(ev.origin?.bareJid ?? "");
    const user = to?.local;
    if (!to || user === undefined || ev.stanza.name !== "message") return false;
    const bare = to.bare;
    const stanza = ev.stanza;
    stripStanzaIds(stanza, bare);
    stripForgedResults(stanza, to.resource !== undefined);
    if (!archivable(stanza)) return false;
    const from = parseJid(stanza.attrs.from ?? "");
    if (!from) return false;
    return this.#then(
      user,
      () => this.#and(this.#existsAndAllowed(user, from), () => this.quota.admit(user)),
      () => this.#store(stanza, user, bare, from.bare),
    );
  };

  /** The sender's side (a local client). Never stops the event. */
  outgoing = (ev: StanzaEvent): false | Promise<false> => {
    const origin = ev.origin;
    const user = origin?.username;
    const bare = origin?.bareJid;
    if (user === undefined || bare === undefined || ev.stanza.name !== "message") return false;
    const stanza = ev.stanza;
    // The client must not choose its own archive id either.
    stripStanzaIds(stanza, bare);
    const to = ev.to;
    // To itself: archived once, on the recipient's side.
    if (!to || to.bare === bare || !archivable(stanza)) return false;
    return this.#then(
      user,
      () => this.#and(this.#allowed(user, to), () => this.quota.admit(user)),
      () => this.#store(stanza, user, bare, to.bare),
    );
  };

  /** Priority 1 on pre-message/*: the sender's archive id does not go to the contact. */
  unstamp = (ev: StanzaEvent): false => {
    const bare = ev.origin?.bareJid;
    if (bare !== undefined && ev.to?.bare !== bare) stripStanzaIds(ev.stanza, bare);
    return false;
  };

  /**
   * `store` when `decide` says yes (now or later); the handler's result:
   * never stops the event. An archive that fails (storage errors, a
   * broken database) is logged and the message delivered unarchived:
   * archiving must never cost the message itself.
   */
  #then(user: string, decide: () => Result, store: () => void): false | Promise<false> {
    const failed = (err: unknown) => {
      this.#failed(user, err);
      return false as const;
    };
    try {
      const ok = decide();
      if (ok === true) store();
      if (typeof ok === "boolean") return false;
      return ok.then((yes) => {
        if (yes) store();
        return false as const;
      }).catch(failed);
    } catch (err) {
      return failed(err);
    }
  }

  #failed(user: string, err: unknown): void {
    this.api.log.error("archiving a message of {user} failed: {err}", { user, err });
  }

  /** `a` and then (only when it holds) `b`. */
  #and(a: Result, b: () => Result): Result {
    if (typeof a === "boolean") return a && b();
    return a.then((yes) => yes && b());
  }

  #existsAndAllowed(user: string, other: Jid): Result {
    // Online: it exists. Offline: ask (a peer may write to made-up users).
    if (this.api.sessions.online(this.api.domain, user)) {
      return this.#allowed(user, other);
    }
    return this.api.auth.userExists(this.api.domain, user).then((exists) =>
      exists && this.#allowed(user, other)
    );
  }

  #allowed(user: string, other: Jid): Result {
    const p = this.prefs.get(user);
    return p instanceof Promise
      ? p.then((p) => this.#byPrefs(user, other, p))
      : this.#byPrefs(user, other, p);
  }

  #byPrefs(user: string, other: Jid, p: Prefs): Result {
    const d = p.decide(other.bare, other.full);
    return d === "roster" ? rosterHas(this.api, user, other.bare) : d === "yes";
  }

  /**
   * The stanza archived last and its text. A message between two local
   * users is archived for the sender (pre-message) and then, as the same
   * element, for the recipient: nothing between changes it but our own
   * sender stanza-id, which is removed again before it is routed, so the
   * text is reused when the element and its number of children are the
   * same (a forged stanza-id stripped on the recipient's side changes it).
   */
  #last: { stanza: Element | undefined; children: number; text: string } = {
    stanza: undefined,
    children: 0,
    text: "",
  };

  #store(stanza: Element, user: string, bare: string, withJid: string): void {
    // The same time in the id and the item: a "timed" id, found through the
    // archive's time index, with no id index entry to write
    // (storage/schema.ts V3, bench/results/2026-12-06-archive-writes.md).
    const when = Date.now();
    const id = newArchiveId(when);
    // Stored without our own stanza-id: the archive id is the item's id.
    const last = this.#last;
    if (last.stanza !== stanza || last.children !== stanza.children.length) {
      last.stanza = stanza;
      last.children = stanza.children.length;
      // Without forged wrappers (forged.ts).
      last.text = serialize(archivedForm(stanza));
    }
    const value = last.text;
    this.archive.append(user, { id, when, with: withJid, value, generated: true }).catch((err) =>
      this.#failed(user, err)
    );
    stampStanzaId(stanza, bare, id);
  }
}
