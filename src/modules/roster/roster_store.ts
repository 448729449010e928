/**
 * Rosters in memory and in storage. While a user is online their roster
 * is kept by the session lookup (`api.sessions.setRoster`), shared by
 * their resources; it is always written through to `keyval("roster")`.
 * Every read-modify-write of one user's roster runs in that user's queue,
 * so two resources binding at once load it once, and a change made while
 * the user is offline is never lost to a concurrent load.
 *
 * The roster and presence modules share one store per host (the two are
 * one feature split in two modules, so they live in one folder).
 */
import { Element } from "../../xml/element.ts";
import { KeyedQueue } from "../../util/keyed_queue.ts";
import { el } from "../../xml/element.ts";
import { randomId } from "../../util/random.ts";
import { serializedBytes } from "../../util/xml_fragment.ts";
import { utf8Length } from "../../util/utf8_length.ts";
import type { ModuleApi } from "../../core/module_api.ts";
import type { Host } from "../../core/host.ts";
import type { Json, KeyValStore } from "../../storage/types.ts";
import { NO_SUBSCRIPTION, type Subscription, type SubState } from "./subscriptions.ts";
import { NS_ROSTER } from "../../xml/namespaces.ts";
export { NS_ROSTER };

export interface RosterItem {
  jid: string;
  name?: string;
  groups: string[];
  subscription: Subscription;
  /** Pending out: `ask='subscribe'`. */
  ask: boolean;
  /** Pre-approved (§3.4): `approved='true'`. */
  approved: boolean;
}

export class Roster {
  /** Bumped on every change; sent as `ver` (RFC 6121 §2.6). */
  version = 0;
  readonly items = new Map<string, RosterItem>();
  /**
   * Pending inbound subscription requests, by bare JID, with the original
   * stanza: kept out of the roster itself (RFC 6121 §3.1.3) and delivered
   * again at the user's next initial presence.
   */
  readonly pending = new Map<string, Element>();

  get ver(): string {
    return String(this.version);
  }

  state(jid: string): SubState {
    const item = this.items.get(jid);
    const pendingIn = this.pending.has(jid);
    if (!item) return pendingIn ? { ...NO_SUBSCRIPTION, pendingIn } : NO_SUBSCRIPTION;
    return {
      subscription: item.subscription,
      pendingOut: item.ask,
      pendingIn,
      preApproved: item.approved,
    };
  }

  /** Whether `s` for `jid` adds a roster item. */
  createsItem(jid: string, s: SubState): boolean {
    // Only an outbound request, an approval or a pre-approval creates an item.
    return !this.items.has(jid) && (s.subscription !== "none" || s.pendingOut || s.preApproved);
  }

  /**
   * The contacts this roster keeps anything for: its items, and pending
   * requests from JIDs that are not items. `roster.maxItems` bounds it for
   * requests that arrive (a roster set only counts items, so strangers'
   * requests never keep the user from adding contacts; the total stays
   * under twice the limit).
   */
  get entries(): number {
    let n = this.items.size;
    for (const jid of this.pending.keys()) if (!this.items.has(jid)) n++;
    return n;
  }

  /**
   * Apply a new subscription state for `jid`. Returns the roster item when
   * it changed (for a push); `request` is the stanza to keep when a
   * request becomes pending.
   */
  applyState(jid: string, s: SubState, request?: Element): RosterItem | undefined {
    // The first request is the one kept: a repeated one changes nothing (A.3.1).
    if (!s.pendingIn) this.pending.delete(jid);
    else if (!this.pending.has(jid) && request) this.pending.set(jid, keptRequest(request));
    let item = this.items.get(jid);
    if (!item) {
      if (!this.createsItem(jid, s)) return undefined;
      item = { jid, groups: [], subscription: "none", ask: false, approved: false };
      this.items.set(jid, item);
    } else if (
      item.subscription === s.subscription && item.ask === s.pendingOut &&
      item.approved === s.preApproved
    ) {
      return undefined;
    }
    item.subscription = s.subscription;
    item.ask = s.pendingOut;
    item.approved = s.preApproved;
    return item;
  }

  /**
   * What the items take when stored, roughly (JID, name and groups, plus
   * a fixed overhead per item and group). Counted in O(items) on each
   * set, still far cheaper than the write that follows.
   */
  get itemBytes(): number {
    let n = 0;
    for (const i of this.items.values()) n += itemBytes(i.jid, i.name, i.groups);
    return n;
  }

  toJson(): Json {
    const items: Json[] = [];
    for (const i of this.items.values()) {
      const o: { [k: string]: Json } = {
        jid: i.jid,
        groups: i.groups,
        subscription: i.subscription,
      };
      if (i.name !== undefined) o.name = i.name;
      if (i.ask) o.ask = true;
      if (i.approved) o.approved = true;
      items.push(o);
    }
    const pending: { [k: string]: Json } = {};
    for (const [jid, stanza] of this.pending) pending[jid] = elementToJson(stanza);
    return { version: this.version, items, pending };
  }

  static fromJson(value: Json | undefined): Roster {
    const r = new Roster();
    // A roster never stored (a new account, or one re-created under a
    // deleted account's name) starts its versions at the time, not at 0: a
    // client still holding the old account's cached `ver` must not find it
    // again in the new roster's first versions and keep the old items
    // (µs scale: a thousand changes a millisecond before two could meet).
    if (value === undefined) r.version = Date.now() * 1000;
    if (!value || typeof value !== "object" || Array.isArray(value)) return r;
    if (typeof value.version === "number") r.version = value.version;
    if (Array.isArray(value.items)) {
      for (const raw of value.items) {
        if (!raw || typeof raw !== "object" || Array.isArray(raw)) continue;
        if (typeof raw.jid !== "string") continue;
        r.items.set(raw.jid, {
          jid: raw.jid,
          name: typeof raw.name === "string" ? raw.name : undefined,
          groups: Array.isArray(raw.groups)
            ? raw.groups.filter((g): g is string => typeof g === "string")
            : [],
          subscription: isSubscription(raw.subscription) ? raw.subscription : "none",
          ask: raw.ask === true,
          approved: raw.approved === true,
        });
      }
    }
    const pending = value.pending;
    if (pending && typeof pending === "object" && !Array.isArray(pending)) {
      for (const [jid, stanza] of Object.entries(pending)) {
        const e = elementFromJson(stanza);
        if (e) r.pending.set(jid, e);
      }
    }
    return r;
  }
}

/**
 * What of a subscription request is kept: its attributes other than the
 * addressing (an id, xml:lang) and its children (a status, a nickname),
 * up to this many bytes together (with `roster.maxItems` pending, 1 MB). A request is re-sent at each login and
 * lives in the roster, which is written whole on every change: kept as
 * sent (up to the stanza size limit, 256 KiB) from each of up to
 * `roster.maxItems` strangers, one victim's roster grew to hundreds of MB,
 * rewritten on each change and re-sent at each login.
 */
export const MAX_KEPT_REQUEST_BYTES = 1024;

/** Attributes a kept request always keeps: the server set them (bare JIDs, the type). */
const ADDRESSING = new Set(["from", "to", "type"]);

/**
 * `request` with its addressing and, in order, the other attributes and
 * then the children that fit MAX_KEPT_REQUEST_BYTES together. Attributes
 * count too: with children bounded alone, one attribute of a few hundred
 * KB (the parser bounds their number, not their size) was kept whole.
 */
function keptRequest(request: Element): Element {
  const attrs: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(request.attrs)) {
    if (ADDRESSING.has(name)) {
      attrs[name] = value;
      continue;
    }
    const size = utf8Length(name) + utf8Length(value) + 4;
    if (bytes + size > MAX_KEPT_REQUEST_BYTES) continue;
    bytes += size;
    attrs[name] = value;
  }
  const kept = new Element(request.name, attrs, []);
  for (const c of request.children) {
    const size = typeof c === "string" ? utf8Length(c) : serializedBytes(c).bytes;
    if (bytes + size > MAX_KEPT_REQUEST_BYTES) continue;
    bytes += size;
    kept.children.push(typeof c === "string" ? c : c.clone());
  }
  return kept;
}

/**
 * The stored size a roster's items may reach, with `itemBytes`. The roster
 * is written whole on every change: with only `roster.maxItems` and the
 * length of each name and group bounded, a user could fill 1000 items
 * with ~250 KB of groups each (one set per stanza) and make each later
 * change serialize hundreds of MB (1 s per 23 MB), stalling everybody.
 * A real roster of 1000 contacts takes about 150 KB.
 */
export const MAX_ROSTER_ITEM_BYTES = 1024 * 1024;

/** An item's share of MAX_ROSTER_ITEM_BYTES. */
export function itemBytes(jid: string, name: string | undefined, groups: string[]): number {
  let n = 64 + jid.length + (name?.length ?? 0);
  for (const g of groups) n += 16 + g.length;
  return n;
}

function isSubscription(s: unknown): s is Subscription {
  return s === "none" || s === "to" || s === "from" || s === "both";
}

/**
 * An Element as JSON: [name, attrs, ...children]. A kept subscription
 * request comes from a peer and may be nested thousands of levels deep,
 * so both conversions walk with an explicit stack, not recursion.
 */
function elementToJson(root: Element): Json {
  const out: Json[] = [root.name, { ...root.attrs }];
  const todo: [Element, Json[]][] = [[root, out]];
  while (todo.length !== 0) {
    const [e, arr] = todo.pop()!;
    for (const c of e.children) {
      if (typeof c === "string") {
        arr.push(c);
      } else {
        const a: Json[] = [c.name, { ...c.attrs }];
        arr.push(a);
        if (c.children.length !== 0) todo.push([c, a]);
      }
    }
  }
  return out;
}

/** The element `j` stores, without its children; undefined when `j` is not one. */
function shellFromJson(j: Json): Element | undefined {
  if (!Array.isArray(j) || typeof j[0] !== "string") return undefined;
  const attrs = j[1];
  if (!attrs || typeof attrs !== "object" || Array.isArray(attrs)) return undefined;
  const a: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) if (typeof v === "string") a[k] = v;
  return new Element(j[0], a, []);
}

/** Malformed children are skipped, as a malformed root gives undefined. */
function elementFromJson(j: Json): Element | undefined {
  const root = shellFromJson(j);
  if (!root) return undefined;
  const todo: [Json[], Element][] = [[j as Json[], root]];
  while (todo.length !== 0) {
    const [arr, e] = todo.pop()!;
    for (let i = 2; i < arr.length; i++) {
      const c = arr[i];
      if (typeof c === "string") {
        e.children.push(c);
      } else {
        const kid = shellFromJson(c);
        if (kid) {
          e.children.push(kid);
          todo.push([c as Json[], kid]);
        }
      }
    }
  }
  return root;
}

/** `<item/>` as in a roster result or push. */
export function itemElement(item: RosterItem): Element {
  return el(
    "item",
    {
      jid: item.jid,
      name: item.name,
      subscription: item.subscription,
      ask: item.ask ? "subscribe" : undefined,
      approved: item.approved ? "true" : undefined,
    },
    ...item.groups.map((g) => el("group", {}, g)),
  );
}

export class RosterStore {
  readonly #api: ModuleApi;
  readonly #kv: KeyValStore;
  /** Each user's queue of roster operations. */
  readonly #queue = new KeyedQueue();

  constructor(api: ModuleApi) {
    this.#api = api;
    this.#kv = api.keyval("roster");
    // The first resource of a user loads the roster for all of them.
    api.hook("resource-bind", ({ session }) => {
      const user = session.username!;
      if (this.cached(user) === undefined) {
        this.run(user, () => undefined).catch((err) =>
          api.log.error("loading the roster of {user} failed: {err}", { user, err })
        );
      }
    });
  }

  /** The in-memory roster of an online user, if loaded. */
  cached(user: string): Roster | undefined {
    return this.#api.sessions.roster(this.#api.domain, user) as Roster | undefined;
  }

  /**
   * Run `fn` on the user's roster, after every earlier operation on it.
   * The roster is the online copy when there is one, else loaded from
   * storage (and kept in memory if the user is online).
   */
  run<T>(user: string, fn: (roster: Roster) => T | Promise<T>): Promise<T> {
    return this.#queue.run(user, async () => fn(await this.#get(user)));
  }

  /**
   * `run`, but only when `guard` (checked in the queue, before the roster
   * is loaded) holds; undefined otherwise. Queued at once, like `run`.
   */
  runIf<T>(
    user: string,
    guard: () => boolean | Promise<boolean>,
    fn: (roster: Roster) => T | Promise<T>,
  ): Promise<T | undefined> {
    return this.#queue.run(
      user,
      async () => (await guard()) ? fn(await this.#get(user)) : undefined,
    );
  }

  async #get(user: string): Promise<Roster> {
    const cached = this.cached(user);
    if (cached) return cached;
    const roster = Roster.fromJson(await this.#kv.get(user));
    // Kept for the online user's resources (a no-op when none is online).
    if (this.cached(user) === undefined) {
      this.#api.sessions.setRoster(this.#api.domain, user, roster);
    }
    return this.cached(user) ?? roster;
  }

  /** Record a change: new version, written to storage. Call inside `run`. */
  async save(user: string, roster: Roster): Promise<void> {
    roster.version++;
    await this.#kv.set(user, roster.toJson());
  }

  /** RFC 6121 §2.1.6: send the changed item to every interested resource. */
  push(user: string, roster: Roster, item: Element): void {
    for (const s of this.#api.sessions.resources(this.#api.domain, user)) {
      if (!s.interested) continue;
      s.send(
        el(
          "iq",
          { type: "set", id: "push-" + randomId(10), to: s.fullJid },
          el("query", { xmlns: NS_ROSTER, ver: roster.ver }, item),
        ),
      );
    }
  }

  /**
   * Store a new subscription state for `contact` (inside `run`): saved and
   * pushed when it changed. `request` is kept for a new pending request.
   */
  async commit(
    user: string,
    roster: Roster,
    contact: string,
    s: SubState,
    request?: Element,
  ): Promise<boolean> {
    const before = roster.state(contact);
    const item = roster.applyState(contact, s, request);
    const changed = item !== undefined || before.pendingIn !== s.pendingIn;
    if (changed) await this.save(user, roster);
    if (item) this.push(user, roster, itemElement(item));
    return changed;
  }
}

const stores = new WeakMap<Host, RosterStore>();

/** The host's roster store, created by whichever of roster/presence sets up first. */
export function rosterStore(api: ModuleApi): RosterStore {
  let s = stores.get(api.host);
  if (!s) {
    s = new RosterStore(api);
    stores.set(api.host, s);
  }
  return s;
}
