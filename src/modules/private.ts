/**
 * Private XML storage (XEP-0049): a user keeps arbitrary namespaced XML on
 * the server, readable and writable only by the user's own resources.
 * XEP-0048 bookmarks (`storage:bookmarks`) live here for older clients.
 *
 * Each element is stored under "<name> <namespace>" in the `private` map,
 * as the exact XML the client sent.
 */
import { el, type Element } from "../xml/element.ts";
import { NS } from "../xml/namespaces.ts";
import { StanzaError } from "../core/errors.ts";
import type { ParleyModule } from "../core/module_api.ts";
import type { StanzaEvent } from "../core/router.ts";
import { parseElement, serializedBytes } from "../util/xml_fragment.ts";
import { NS_PRIVATE } from "../xml/namespaces.ts";
export { NS_PRIVATE };

/**
 * XEP-0049 lists namespaces reserved in Jabber and lets a server refuse
 * them (OPTIONAL). We refuse only those whose storage could be mistaken
 * for protocol: stanzas' own namespaces and this one. Refusing every
 * `jabber:` and `http://jabber.org/` namespace would break clients that
 * have long stored preferences under them.
 */
const RESERVED = new Set([NS.client, NS.server, NS_PRIVATE]);

function keyOf(e: Element): string {
  return e.name + " " + e.attrs.xmlns;
}

/**
 * The elements of a query, each with its own namespace. §2.3: at least
 * one child with a proper namespace, else not-acceptable; reserved
 * namespaces get not-acceptable too. (A child without an xmlns inherits
 * jabber:iq:private, so it is caught as reserved.)
 */
function payloads(query: Element): Element[] {
  const items = query.getChildren();
  if (items.length === 0) {
    throw new StanzaError("modify", "not-acceptable", "The query needs a namespaced child element");
  }
  for (const item of items) {
    const ns = item.attrs.xmlns;
    if (ns === undefined || ns === "" || RESERVED.has(ns)) {
      throw new StanzaError(
        "modify",
        "not-acceptable",
        `Private data may not use the namespace ${ns ?? NS_PRIVATE}`,
      );
    }
  }
  return items;
}

export const privateModule: ParleyModule = {
  name: "private",
  setup(api) {
    const store = api.map("private");
    const { maxBytes, maxItems } = api.config.privateStorage;
    api.addFeature(NS_PRIVATE);

    api.hook(`iq-get/self/${NS_PRIVATE}:query`, async (ev: StanzaEvent) => {
      const user = ev.origin!.username!;
      const out = el("query", { xmlns: NS_PRIVATE });
      // A client asks for one element; asking for several costs nothing more.
      for (const wanted of payloads(ev.stanza.firstElement()!)) {
        const stored = await store.get(user, keyOf(wanted));
        const found = typeof stored === "string" ? parseElement(stored) : undefined;
        // Nothing stored: the requested element comes back empty (§2.3 example).
        out.append(found ?? el(wanted.name, { xmlns: wanted.attrs.xmlns }));
      }
      api.replyResult(ev, out);
      return true;
    });

    api.hook(`iq-set/self/${NS_PRIVATE}:query`, async (ev: StanzaEvent) => {
      const user = ev.origin!.username!;
      // §2.3: a set MAY carry several elements. All are checked before any
      // is written, so a refused set changes nothing.
      const writes: [string, string | undefined][] = [];
      for (const item of payloads(ev.stanza.firstElement()!)) {
        const { text, bytes } = serializedBytes(item);
        if (bytes > maxBytes) {
          // not-acceptable: the condition XEP-0049 uses for data it refuses.
          throw new StanzaError(
            "modify",
            "not-acceptable",
            `<${item.name}/> is ${bytes} bytes; the limit is ${maxBytes}`,
          );
        }
        // An empty element reads back the same as nothing stored.
        const empty = item.children.length === 0 && Object.keys(item.attrs).length === 1;
        writes.push([keyOf(item), empty ? undefined : text]);
      }
      // The per-user total: a flood of namespaces must not fill the disk.
      // Only a set that adds a key can grow it, so updates and removals
      // (the usual case) cost a read per element, not a read of every item.
      const adds = await Promise.all(
        writes.map(([key, text]) =>
          text !== undefined && store.get(user, key).then((v) => v === undefined)
        ),
      );
      if (adds.some((added) => added)) {
        const keys = new Set((await store.getAll(user)).keys());
        for (const [key, text] of writes) {
          if (text === undefined) keys.delete(key);
          else keys.add(key);
        }
        if (keys.size > maxItems) {
          throw new StanzaError("modify", "not-acceptable", `At most ${maxItems} items are stored`);
        }
      }
      await Promise.all(writes.map(([key, text]) => store.set(user, key, text)));
      api.replyResult(ev);
      return true;
    });

    // Another user's private data: forbidden (the XEP prefers it to
    // service-unavailable), whether or not that user exists.
    const forbidden = () => {
      throw new StanzaError("auth", "forbidden", "Private data belongs to its owner only");
    };
    api.hook(`iq-get/bare/${NS_PRIVATE}:query`, forbidden);
    api.hook(`iq-set/bare/${NS_PRIVATE}:query`, forbidden);
  },
};
