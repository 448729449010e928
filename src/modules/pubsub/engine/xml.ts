/** The XML of XEP-0060: namespaces, items, and notification payloads. */
import { el, type Element } from "../../../xml/element.ts";
import { parseElement } from "../../../util/xml_fragment.ts";
import type { StoredItem } from "./types.ts";
import { NS_PUBSUB, NS_PUBSUB_OWNER } from "../../../xml/namespaces.ts";
export { NS_PUBSUB, NS_PUBSUB_OWNER };

export const NS_PUBSUB_EVENT = "http://jabber.org/protocol/pubsub#event";

/** `<item id=…>payload</item>`; `publisher` added when asked (§7.1.2.2). */
export function itemElement(item: StoredItem, payload = true, publisher = false): Element {
  const e = el("item", { id: item.id, publisher: publisher ? item.publisher : undefined });
  if (payload && item.payload !== "") {
    const p = parseElement(item.payload);
    if (p) e.append(p);
  }
  return e;
}

/** `<event><items node=…><item…/></items></event>` (§7.1.2.1). */
export function eventItems(node: string, items: Element[]): Element {
  return el("event", { xmlns: NS_PUBSUB_EVENT }, el("items", { node }, ...items));
}

/** `<event><items node=…><retract id=…/></items></event>` (§7.2.2.1). */
export function eventRetract(node: string, ids: string[]): Element {
  return el(
    "event",
    { xmlns: NS_PUBSUB_EVENT },
    el("items", { node }, ...ids.map((id) => el("retract", { id }))),
  );
}

export function eventDelete(node: string): Element {
  return el("event", { xmlns: NS_PUBSUB_EVENT }, el("delete", { node }));
}

/**
 * `<event><configuration node=…>form?</configuration></event>` (§8.2.5.1):
 * a configuration change; the form when the node delivers payloads.
 */
export function eventConfiguration(node: string, form?: Element): Element {
  return el("event", { xmlns: NS_PUBSUB_EVENT }, el("configuration", { node }, form));
}

export function eventPurge(node: string): Element {
  return el("event", { xmlns: NS_PUBSUB_EVENT }, el("purge", { node }));
}

/** A notification message carrying `event` (headline unless the node says normal). */
export function notification(
  from: string,
  to: string,
  event: Element,
  type: "headline" | "normal" = "headline",
): Element {
  return el("message", { from, to, type, id: crypto.randomUUID() }, event);
}

/**
 * XEP-0060 §6.1.7 / XEP-0163 §4.3.2: a node's last item sent on
 * subscription or presence, with when it was published (XEP-0203).
 */
export function lastItemNotification(
  from: string,
  to: string,
  node: string,
  item: Element,
  when: number,
  type: "headline" | "normal" = "headline",
): Element {
  return notification(from, to, eventItems(node, [item]), type).append(
    el("delay", { xmlns: "urn:xmpp:delay", from, stamp: new Date(when).toISOString() }),
  );
}
