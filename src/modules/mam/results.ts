/**
 * Sending a page to the client that asked (XEP-0313 §4.2): one message
 * per item, `<result queryid id>` around a `<forwarded/>` (XEP-0297) with
 * the stored message and a `<delay/>` (XEP-0203) for when it was
 * archived; then the iq result with `<fin/>`. Each result waits for the
 * client to take what it was sent before (`session.writable()`), so a
 * client that reads slowly holds the query, not the server's memory.
 */
import { el, type Element } from "../../xml/element.ts";
import { NS } from "../../xml/namespaces.ts";
import { parseElement } from "../../util/xml_fragment.ts";
import { randomId } from "../../util/random.ts";
import type { ArchiveItem } from "../../storage/types.ts";
import type { Session } from "../../core/session.ts";
import { rsmElement } from "./rsm.ts";
import type { Page } from "./page.ts";
import { NS_FORWARD, NS_MAM } from "./ns.ts";

/** The stored message of an item, as a fresh Element (undefined when unreadable). */
export function storedMessage(item: ArchiveItem): Element | undefined {
  return typeof item.value === "string" ? parseElement(item.value) : undefined;
}

/** XEP-0082 DateTime, UTC. */
export function stamp(ms: number): string {
  return new Date(ms).toISOString();
}

export function resultMessage(
  item: ArchiveItem,
  to: string,
  archive: string,
  queryid: string | undefined,
): Element | undefined {
  const message = storedMessage(item);
  if (!message) return undefined;
  // Inside <forwarded/> the default namespace is no longer the stream's.
  message.setAttr("xmlns", NS.client);
  return el(
    "message",
    { to, from: archive, id: randomId(12) },
    el(
      "result",
      { xmlns: NS_MAM, queryid, id: item.id },
      el(
        "forwarded",
        { xmlns: NS_FORWARD },
        el("delay", { xmlns: NS.delay, stamp: stamp(item.when) }),
        message,
      ),
    ),
  );
}

/**
 * Send the page's items to `session` (in reverse for `flip`); false when
 * the session ended meanwhile (then no `<fin/>` is due).
 */
export async function sendPage(
  session: Session,
  archive: string,
  page: Page,
  queryid: string | undefined,
  flip: boolean,
  onUnreadable: (item: ArchiveItem) => void,
): Promise<boolean> {
  const items = page.items;
  for (let i = 0; i < items.length; i++) {
    const item = items[flip ? items.length - 1 - i : i];
    await session.writable();
    if (session.destroyed) return false;
    const message = resultMessage(item, session.fullJid!, archive, queryid);
    if (message) session.send(message);
    else onUnreadable(item);
  }
  return !session.destroyed;
}

/**
 * The `<fin/>` of the iq result. `first`/`last` stay in archive order for
 * a flipped page (flipping changes the order sent, not the page: §4.3.4).
 */
export function finElement(page: Page): Element {
  const { items } = page;
  return el(
    "fin",
    { xmlns: NS_MAM, complete: page.complete ? "true" : undefined },
    rsmElement({
      first: items.length ? { id: items[0].id, index: page.index } : undefined,
      last: items.length ? items[items.length - 1].id : undefined,
      count: page.count,
    }),
  );
}
