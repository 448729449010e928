/**
 * One account's data as XEP-0227 (Portable Import/Export Format, 1.1) XML,
 * written piece by piece to `out` so that memory stays bounded by a page
 * of the archive, however large the archive is. Every element goes
 * through the project's Element serializer: stored XML is parsed back and
 * re-serialized, never pasted in as text, so nothing a peer sent can
 * break out of its element.
 *
 * The stores read are those of the modules (roster, vcard, private,
 * offline, pep_nodes/pep_items, blocking, archive): the reverse of what
 * `parley import prosody` writes (import_prosody_host.ts).
 */
import { el, type Element, openTag, serialize } from "../xml/element.ts";
import { NS } from "../xml/namespaces.ts";
import { parseElement } from "../util/xml_fragment.ts";
import type { ArchiveItem, ArchiveStore, StorageDriver } from "../storage/types.ts";
import type { AuthProvider, ScramHash } from "../auth/types.ts";
import { itemElement, NS_ROSTER, Roster } from "../modules/roster/roster_store.ts";
import { storedStanza } from "../modules/offline_usage.ts";
import { mapStorage } from "../modules/pubsub/engine/storage.ts";
import { configForm } from "../modules/pubsub/engine/config.ts";
import type { StoredNode } from "../modules/pubsub/engine/types.ts";
import {
  NS_BLOCKING,
  NS_FORWARD,
  NS_MAM,
  NS_PRIVATE,
  NS_PUBSUB,
  NS_PUBSUB_OWNER,
  NS_VCARD,
} from "../xml/namespaces.ts";

export const NS_PIE = "urn:xmpp:pie:0";
export const NS_PIE_SCRAM = "urn:xmpp:pie:0#scram";
export const NS_PIE_MAM = "urn:xmpp:pie:0#mam";

/** Archive items read per query: what the export holds in memory at once. */
export const ARCHIVE_PAGE = 200;

export interface ExportSource {
  storage: StorageDriver;
  auth: AuthProvider;
}

export interface ExportOptions {
  /** Include the SCRAM keys (XEP-0227 §4.2 `scram-credentials`): off unless asked. */
  withCredentials?: boolean;
}

/** Where the text goes, in order. */
export type Sink = (text: string) => Promise<void>;

/** What was written, per section, for the operator's summary. */
export interface ExportCounts {
  rosterItems: number;
  vcard: boolean;
  privateElements: number;
  offlineMessages: number;
  pepNodes: number;
  pepItems: number;
  blocked: number;
  archived: number;
}

export const DOCUMENT_START =
  `<?xml version='1.0' encoding='UTF-8'?>\n<server-data xmlns='${NS_PIE}'>\n`;
export const DOCUMENT_END = `</server-data>\n`;

/** The opening tag of `<host jid=…>`; HOST_CLOSE closes it. */
export function hostOpen(host: string): string {
  return openTag("host", { jid: host }) + "\n";
}
export const HOST_CLOSE = "</host>\n";

/** One `<user/>` element with everything stored for `user` on `host`. */
export async function exportUser(
  src: ExportSource,
  host: string,
  user: string,
  out: Sink,
  options: ExportOptions = {},
): Promise<ExportCounts> {
  const { storage } = src;
  const counts: ExportCounts = {
    rosterItems: 0,
    vcard: false,
    privateElements: 0,
    offlineMessages: 0,
    pepNodes: 0,
    pepItems: 0,
    blocked: 0,
    archived: 0,
  };
  // Never the 'password' attribute: Parley does not have the password.
  await out(openTag("user", { name: user }) + "\n");
  if (options.withCredentials) {
    for (const hash of ["SHA-1", "SHA-256"] as ScramHash[]) {
      const c = await src.auth.getScramCredentials(host, user, hash);
      if (!c) continue;
      await line(
        out,
        el(
          "scram-credentials",
          { xmlns: NS_PIE_SCRAM, mechanism: "SCRAM-" + hash },
          el("iter-count", {}, String(c.iterations)),
          el("salt", {}, c.salt),
          el("server-key", {}, c.serverKey),
          el("stored-key", {}, c.storedKey),
        ),
      );
    }
  }

  const roster = Roster.fromJson(await storage.keyval(host, "roster").get(user));
  const items = [...roster.items.values()];
  counts.rosterItems = items.length;
  await line(out, el("query", { xmlns: NS_ROSTER, ver: roster.ver }, ...items.map(itemElement)));
  // XEP-0227 §4.8: pending inbound subscription requests, as the presences that made them.
  for (const request of roster.pending.values()) await line(out, asClientStanza(request.clone()));

  const vcardText = await storage.keyval(host, "vcard").get(user);
  const vcard = typeof vcardText === "string" ? parseElement(vcardText) : undefined;
  if (vcard && vcard.name === "vCard" && vcard.attrs.xmlns === NS_VCARD) {
    counts.vcard = true;
    await line(out, vcard);
  }

  const privateXml = el("query", { xmlns: NS_PRIVATE });
  for (const value of (await storage.map(host, "private").getAll(user)).values()) {
    const e = typeof value === "string" ? parseElement(value) : undefined;
    if (e) privateXml.append(e);
  }
  counts.privateElements = privateXml.children.length;
  if (counts.privateElements > 0) await line(out, privateXml);

  await out("<offline-messages>\n");
  counts.offlineMessages = await eachPage(storage.archive(host, "offline"), user, async (item) => {
    const stanza = parseElement(storedStanza(item));
    if (!stanza) return false;
    // As it would be delivered (offline.ts): with the time it was stored.
    stanza.append(
      el("delay", { xmlns: NS.delay, from: host, stamp: stamp(item.when) }, "Offline Storage"),
    );
    await line(out, asClientStanza(stanza));
    return true;
  });
  await out("</offline-messages>\n");

  const pep = mapStorage(storage.map(host, "pep_nodes"), storage.map(host, "pep_items"));
  const nodes = await pep.nodes(user);
  counts.pepNodes = nodes.length;
  if (nodes.length > 0) {
    await line(out, el("pubsub", { xmlns: NS_PUBSUB_OWNER }, ...nodes.flatMap(nodeOwnerData)));
    await out(`<pubsub xmlns='${NS_PUBSUB}'>\n`);
    for (const node of nodes) {
      // One node's items at a time (a node holds at most pep.maxItems).
      const items = el("items", { node: node.name });
      for (const id of node.items) {
        const item = await pep.item(user, node.name, id);
        if (!item) continue;
        const payload = item.payload === "" ? undefined : parseElement(item.payload);
        items.append(el("item", { id: item.id, publisher: item.publisher }, payload));
      }
      counts.pepItems += items.children.length;
      await line(out, items);
    }
    await out("</pubsub>\n");
  }

  const blocked = [...(await storage.map(host, "blocking").getAll(user)).keys()];
  counts.blocked = blocked.length;
  if (blocked.length > 0) {
    await line(
      out,
      el("blocklist", { xmlns: NS_BLOCKING }, ...blocked.map((jid) => el("item", { jid }))),
    );
  }

  await out(`<archive xmlns='${NS_PIE_MAM}'>\n`);
  counts.archived = await eachPage(storage.archive(host, "archive"), user, async (item) => {
    const stanza = typeof item.value === "string" ? parseElement(item.value) : undefined;
    if (!stanza) return false;
    await line(
      out,
      el(
        "result",
        { xmlns: NS_MAM, id: item.id },
        el(
          "forwarded",
          { xmlns: NS_FORWARD },
          el("delay", { xmlns: NS.delay, stamp: stamp(item.when) }),
          asClientStanza(stanza),
        ),
      ),
    );
    return true;
  });
  await out("</archive>\n");
  await out("</user>\n");
  return counts;
}

async function line(out: Sink, e: Element): Promise<void> {
  await out(serialize(e) + "\n");
}

/** XEP-0082 DateTime in UTC. */
function stamp(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * A stored stanza inherited jabber:client from its stream; inside the
 * export it would inherit the wrapper's namespace, so it says its own.
 */
function asClientStanza(stanza: Element): Element {
  if (stanza.attrs.xmlns === undefined) stanza.attrs = { xmlns: NS.client, ...stanza.attrs };
  return stanza;
}

/**
 * Every item of `user` in `archive`, oldest first, a page at a time
 * (bounded memory); returns how many `each` accepted.
 *
 * A page starts after the previous page's last item. The server may run
 * meanwhile and remove that item (a retraction, retention, an offline
 * message delivered at a login): an `after` id that is gone matches
 * nothing, which would end the export there, silently. So an empty page
 * whose `after` item is gone goes on from that item's time instead,
 * leaving out the items of that time the previous page had. (Only more
 * than a page of items in one millisecond, with such a removal, could then
 * write an item twice.)
 */
async function eachPage(
  archive: ArchiveStore,
  user: string,
  each: (item: ArchiveItem) => Promise<boolean>,
): Promise<number> {
  let n = 0;
  let last: ArchiveItem[] = [];
  // Every page moves forward (past `after`, or past the items of the
  // previous page's last time), and a short page ends it: the loop ends.
  while (true) {
    const end = last[last.length - 1];
    let page = await archive.find(user, { after: end?.id, limit: ARCHIVE_PAGE });
    let full = page.length === ARCHIVE_PAGE;
    if (page.length === 0 && end && await archive.count(user, { ids: [end.id] }) === 0) {
      const seen = new Set(last.filter((i) => i.when === end.when).map((i) => i.id));
      const limit = ARCHIVE_PAGE + seen.size;
      const from = await archive.find(user, { start: end.when, limit });
      full = from.length === limit;
      page = from.filter((i) => !seen.has(i.id));
    }
    for (const item of page) if (await each(item)) n++;
    if (!full) return n;
    last = page;
  }
}

/**
 * A node's owner data (XEP-0227 §4.9): its configuration as a submitted
 * node_config form, and its affiliations and subscriptions when it has any.
 */
function nodeOwnerData(node: StoredNode): Element[] {
  const form = configForm(node.config, "result");
  form.attrs.type = "submit";
  // A submitted form carries values only (XEP-0004 §3.2).
  for (const field of form.getChildren("field")) {
    field.children = field.children.filter((c) => typeof c !== "string" && c.name === "value");
    delete field.attrs.label;
  }
  const out = [el("configure", { node: node.name }, form)];
  const affiliations = Object.entries(node.affiliations);
  if (affiliations.length > 0) {
    out.push(
      el(
        "affiliations",
        { node: node.name },
        ...affiliations.map(([jid, affiliation]) => el("affiliation", { jid, affiliation })),
      ),
    );
  }
  const subscriptions = Object.keys(node.subscriptions);
  if (subscriptions.length > 0) {
    out.push(
      el(
        "subscriptions",
        { node: node.name },
        ...subscriptions.map((jid) => el("subscription", { jid, subscription: "subscribed" })),
      ),
    );
  }
  return out;
}
