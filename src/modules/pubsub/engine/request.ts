/**
 * Reading the parts of a pubsub request that PEP and the pubsub service
 * share (XEP-0060 §7.1): the node attribute and what a publish carries.
 */
import { type FormValues, parseForm } from "../../../util/dataforms.ts";
import type { Element } from "../../../xml/element.ts";
import { pubsubError } from "./errors.ts";

/** The `node` attribute; missing → `nodeid-required`. */
export function nodeAttr(e: Element): string {
  const node = e.attrs.node;
  if (node === undefined || node === "") {
    throw pubsubError("modify", "bad-request", "nodeid-required");
  }
  return node;
}

export interface PublishRequest {
  node: string;
  /** The one `<item/>`, if any. */
  item: Element | undefined;
  /** Its payloads (none or one). */
  payloads: Element[];
  /** The `<publish-options/>` form (XEP-0223), if any. */
  options: FormValues | undefined;
}

/** A `<publish/>` (`op`) inside `pubsub`: one item with at most one payload (§7.1.3.6). */
export function publishRequest(pubsub: Element, op: Element): PublishRequest {
  const node = nodeAttr(op);
  const itemEls = op.getChildren("item");
  if (itemEls.length > 1) throw pubsubError("modify", "bad-request", "invalid-payload");
  const item = itemEls[0];
  const payloads = item?.getChildren() ?? [];
  if (payloads.length > 1) throw pubsubError("modify", "bad-request", "invalid-payload");
  const optionsEl = pubsub.getChild("publish-options");
  return { node, item, payloads, options: optionsEl ? parseForm(optionsEl) : undefined };
}
