/** Reading a pubsub request: who asks, which node, which action. */
import { StanzaError } from "../../../core/errors.ts";
import type { StanzaEvent } from "../../../core/router.ts";
import { type Jid, parseJid } from "../../../jid.ts";
import type { FormValues } from "../../../util/dataforms.ts";
import type { Element } from "../../../xml/element.ts";
import { pubsubError } from "../engine/index.ts";
import type { ItemReply } from "./service.ts";

/** The requester's JID (the router stamps `from` on what clients send). */
export function requesterOf(ev: StanzaEvent): Jid {
  const from = parseJid(ev.stanza.attrs.from ?? "");
  if (!from) throw new StanzaError("modify", "bad-request");
  return from;
}

export { nodeAttr } from "../engine/request.ts";

/**
 * The action of a `<pubsub/>`: its one child other than the companions
 * `configure`, `options` and `publish-options` (which stand alone only as
 * their own request).
 */
export function actionOf(pubsub: Element): Element {
  const children = pubsub.getChildren();
  const main = children.filter((c) =>
    c.name !== "publish-options" && c.name !== "configure" && c.name !== "options"
  );
  if (main.length > 1) throw new StanzaError("modify", "bad-request", "One action per request");
  const op = main[0] ?? (children.length === 1 ? children[0] : undefined);
  if (!op) throw new StanzaError("modify", "bad-request");
  return op;
}

/** `pubsub#itemreply` of a configuration form, if it names one. */
export function itemReplyOf(form: FormValues | undefined): ItemReply | undefined {
  const v = form?.get("pubsub#itemreply")?.[0];
  if (v === undefined) return undefined;
  if (v !== "owner" && v !== "publisher") {
    throw pubsubError("modify", "not-acceptable", undefined, "Invalid value for pubsub#itemreply");
  }
  return v;
}

/** A boolean form value (XEP-0004 §3.3). */
export function parseBool(v: string, field: string): boolean {
  if (v === "1" || v === "true") return true;
  if (v === "0" || v === "false") return false;
  throw new StanzaError("modify", "bad-request", `Invalid value for ${field}`);
}

/** The `jid` attribute of subscribe/unsubscribe/options; missing or bad → `invalid-jid`. */
export function jidOf(op: Element): Jid {
  const jid = op.attrs.jid === undefined ? undefined : parseJid(op.attrs.jid);
  if (!jid) throw pubsubError("modify", "bad-request", "invalid-jid");
  return jid;
}

/**
 * The access models the service offers: open and whitelist. Presence and
 * roster need the owner's roster (the service has none) and authorize
 * needs pending subscriptions, so a form asking for them is refused
 * rather than left to lock everybody out.
 */
export function checkAccessModel(form: FormValues | undefined): void {
  const v = form?.get("pubsub#access_model")?.[0];
  if (v === "presence" || v === "roster" || v === "authorize") {
    throw pubsubError("modify", "not-acceptable", "unsupported-access-model");
  }
}
