/**
 * Bookmarks 2 (XEP-0402) with XEP-0048 private-storage compatibility
 * (`urn:xmpp:bookmarks:1#compat`, XEP-0402 §5.3): the PEP node
 * `urn:xmpp:bookmarks:1` is the truth. A `storage:bookmarks` read through
 * private XML storage (XEP-0049) is built from it; a write there becomes
 * publishes and retracts on it (so clients with +notify see it). `<url/>`
 * bookmarks, which XEP-0402 has no place for, stay in private storage
 * (the private module still stores the element it was given).
 */
import type { ModuleApi } from "../../../core/module_api.ts";
import type { StanzaEvent } from "../../../core/router.ts";
import { parseJid } from "../../../jid.ts";
import { el, type Element } from "../../../xml/element.ts";
import { parseElement, serializedBytes } from "../../../util/xml_fragment.ts";
import { NS_PRIVATE } from "../../private.ts";
import { KeyedQueue } from "../../../util/keyed_queue.ts";
import { type AccessModel, NS_PUBSUB } from "../engine/index.ts";
import type { PepService } from "./service.ts";

export const NS_BOOKMARKS2 = "urn:xmpp:bookmarks:1";
export const NS_BOOKMARKS2_COMPAT = "urn:xmpp:bookmarks:1#compat";
export const NS_BOOKMARKS_LEGACY = "storage:bookmarks";

/** XEP-0402 §4: the node's configuration when the server creates it. */
const NODE_CONFIG = new Map([
  ["pubsub#access_model", ["whitelist"]],
  ["pubsub#max_items", ["max"]],
  ["pubsub#send_last_published_item", ["never"]],
  ["pubsub#persist_items", ["true"]],
]);

/** Is this query about exactly `<storage xmlns='storage:bookmarks'/>`? */
function legacyStorage(ev: StanzaEvent): Element | undefined {
  const children = ev.stanza.firstElement()?.getChildren() ?? [];
  const only = children.length === 1 ? children[0] : undefined;
  return only?.name === "storage" && only.attrs.xmlns === NS_BOOKMARKS_LEGACY ? only : undefined;
}

/** A XEP-0402 `<conference/>` as a XEP-0048 one. */
function toLegacy(jid: string, conf: Element): Element {
  const autojoin = conf.attrs.autojoin === "true" || conf.attrs.autojoin === "1";
  return el(
    "conference",
    { jid, name: conf.attrs.name, autojoin: autojoin ? "true" : undefined },
    conf.getChildText("nick") !== undefined && el("nick", {}, conf.getChildText("nick")!),
    conf.getChildText("password") !== undefined &&
      el("password", {}, conf.getChildText("password")!),
  );
}

/** A XEP-0048 `<conference/>` as a XEP-0402 one (undefined without a valid jid). */
function fromLegacy(conf: Element): { jid: string; conference: Element } | undefined {
  const jid = parseJid(conf.attrs.jid ?? "")?.bare;
  if (!jid) return undefined;
  const autojoin = conf.attrs.autojoin === "true" || conf.attrs.autojoin === "1";
  const nick = conf.getChildText("nick");
  const password = conf.getChildText("password");
  return {
    jid,
    conference: el(
      "conference",
      { xmlns: NS_BOOKMARKS2, name: conf.attrs.name, autojoin: autojoin ? "true" : "false" },
      nick !== undefined && el("nick", {}, nick),
      password !== undefined && el("password", {}, password),
    ),
  };
}

export function installBookmarksCompat(api: ModuleApi, pep: PepService): void {
  const privateStore = api.map("private");
  const legacyKey = "storage " + NS_BOOKMARKS_LEGACY;

  // Read: built from the PEP node when there is one, with the stored <url/>s.
  const route = (type: "get" | "set") =>
    ({ type, xmlns: NS_PRIVATE, name: "query", to: "self", priority: 10 }) as const;
  api.handleIq(route("get"), async (ev) => {
    if (!legacyStorage(ev)) return undefined;
    const user = ev.origin!.username!;
    const node = await pep.engine.getNode(user, NS_BOOKMARKS2);
    if (!node) return undefined;
    const items = (await pep.engine.items(user, node)).reverse();
    const stored = await privateStore.get(user, legacyKey);
    const old = typeof stored === "string" ? parseElement(stored) : undefined;
    // The element last written through private storage, when the node
    // still says the same: given back exactly as the client wrote it.
    if (old && sameBookmarks(old, items)) return undefined;
    const storage = el("storage", { xmlns: NS_BOOKMARKS_LEGACY });
    for (const item of items) {
      const conf = parseElement(item.payload);
      if (conf?.name === "conference") storage.append(toLegacy(item.id, conf));
    }
    for (const url of old?.getChildren("url") ?? []) storage.append(url);
    return el("query", { xmlns: NS_PRIVATE }, storage);
  });

  // Bookmarks stored through private storage before PEP held them (or
  // before this server had PEP) move to the node the first time the
  // account reads it, so a XEP-0402 client finds them at once.
  const migrations = new KeyedQueue();
  const migrate = (user: string) =>
    migrations.run(user, async () => {
      if (await pep.engine.getNode(user, NS_BOOKMARKS2)) return;
      const stored = await privateStore.get(user, legacyKey);
      const storage = typeof stored === "string" ? parseElement(stored) : undefined;
      if (storage) await syncFromLegacy(pep, user, storage);
    });
  api.handleIq(
    { type: "get", xmlns: NS_PUBSUB, name: "pubsub", to: "self", priority: 10 },
    async (ev) => {
      const items = ev.stanza.firstElement()?.getChild("items");
      if (items?.attrs.node === NS_BOOKMARKS2) await migrate(ev.origin!.username!);
      return undefined;
    },
  );

  // Write: mirrored into the PEP node, then stored by the private module as
  // usual (nothing returned: the private module answers).
  api.handleIq(route("set"), async (ev) => {
    const storage = legacyStorage(ev);
    // Too big for private storage: the private module refuses it, and
    // nothing is mirrored either.
    if (!storage || serializedBytes(storage).bytes > api.config.privateStorage.maxBytes) {
      return undefined;
    }
    await syncFromLegacy(pep, ev.origin!.username!, storage);
    return undefined;
  });
}

/**
 * Make the bookmarks 2 node say what a XEP-0048 `<storage/>` says:
 * retract what it lacks, publish what is new or changed (creating the
 * node with the XEP-0402 configuration when there is something to keep).
 * `sourceAccess`: who may read where `storage` was kept (private storage:
 * nobody else); a node more readable than that is left alone.
 */
export async function syncFromLegacy(
  pep: PepService,
  user: string,
  storage: Element,
  sourceAccess: AccessModel = "whitelist",
): Promise<void> {
  const own = pep.bareOf(user);
  const wanted = new Map<string, Element>();
  // No more than the node can keep: the rest would be published only to
  // be evicted, each publish notifying every resource again.
  const room = pep.engine.limits.maxItemsPerNode;
  for (const conf of storage.getChildren("conference")) {
    if (wanted.size >= room) break;
    const b = fromLegacy(conf);
    if (b) wanted.set(b.jid, b.conference);
  }
  let node = await pep.engine.getNode(user, NS_BOOKMARKS2);
  if (!node && wanted.size > 0) {
    node = await pep.engine.createNode(user, NS_BOOKMARKS2, own, NODE_CONFIG);
  }
  if (!node) return;
  // Bookmarks (room passwords too) go no wider than where they were kept
  // (private storage: the account alone): not into a bookmarks 2 node a
  // client left readable by contacts.
  const access = node.config.access_model;
  if (access !== "whitelist" && access !== sourceAccess) return;
  const existing = new Map<string, string>();
  for (const item of await pep.engine.items(user, node)) existing.set(item.id, item.payload);
  for (const id of existing.keys()) {
    if (!wanted.has(id)) await pep.retract(user, NS_BOOKMARKS2, id, true);
  }
  for (const [jid, conference] of wanted) {
    const prev = existing.get(jid);
    // An unchanged bookmark is not republished (no notification storm).
    if (prev !== undefined && sameConference(prev, conference)) continue;
    const merged = prev === undefined ? conference : keepExtensions(prev, conference);
    await pep.publish(user, { node: NS_BOOKMARKS2, id: jid, payload: merged, publisher: own });
  }
}

/** The account's bookmarks 2 as a XEP-0048 `<storage/>` (no `<url/>`s). */
export async function legacyFromNode(pep: PepService, user: string): Promise<Element> {
  const storage = el("storage", { xmlns: NS_BOOKMARKS_LEGACY });
  const node = await pep.engine.getNode(user, NS_BOOKMARKS2);
  if (!node) return storage;
  for (const item of (await pep.engine.items(user, node)).reverse()) {
    const conf = parseElement(item.payload);
    if (conf?.name === "conference") storage.append(toLegacy(item.id, conf));
  }
  return storage;
}

/** Does the XEP-0048 `storage` hold exactly the node's bookmarks? */
function sameBookmarks(storage: Element, items: { id: string; payload: string }[]): boolean {
  const legacy = new Map<string, Element>();
  for (const conf of storage.getChildren("conference")) {
    const b = fromLegacy(conf);
    if (b) legacy.set(b.jid, b.conference);
  }
  if (legacy.size !== items.length) return false;
  return items.every((i) => {
    const conf = legacy.get(i.id);
    return conf !== undefined && sameConference(i.payload, conf);
  });
}

function sameConference(stored: string, conference: Element): boolean {
  const prev = parseElement(stored);
  if (!prev) return false;
  const strip = (e: Element) =>
    el(
      "conference",
      {
        name: e.attrs.name,
        autojoin: e.attrs.autojoin === "true" || e.attrs.autojoin === "1" ? "true" : "false",
      },
      e.getChildText("nick") ?? "",
      "|",
      e.getChildText("password") ?? "",
    ).toString();
  return strip(prev) === strip(conference);
}

/** XEP-0402 `<extensions/>` of a bookmark survive an edit made through XEP-0048. */
function keepExtensions(stored: string, conference: Element): Element {
  const ext = parseElement(stored)?.getChild("extensions");
  return ext ? conference.append(ext) : conference;
}
