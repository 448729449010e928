/**
 * Subscription options (XEP-0060 §6.3, the `pubsub#subscribe_options`
 * form). One option is supported: `pubsub#deliver` (notifications on or
 * off, the subscription kept). Other fields are refused with
 * `invalid-options`, so a client never believes an option took effect.
 */
import type { Jid } from "../../../jid.ts";
import { EMPTY_RESULT, type IqAnswer } from "../../../core/iq_handler.ts";
import { form, parseForm } from "../../../util/dataforms.ts";
import { el, type Element } from "../../../xml/element.ts";
import { NS_PUBSUB, pubsubError } from "../engine/index.ts";
import { type PubsubService, SCOPE } from "./service.ts";
import { jidOf, nodeAttr, parseBool } from "./request.ts";

export const NS_SUBSCRIBE_OPTIONS = "http://jabber.org/protocol/pubsub#subscribe_options";

export interface SubscribeOptions {
  deliver?: boolean;
}

/** The options of an `<options>` element's form (empty when it has none). */
export function parseSubscribeOptions(options: Element): SubscribeOptions {
  const values = parseForm(options);
  const out: SubscribeOptions = {};
  if (!values) return out;
  for (const [name, vals] of values) {
    if (name === "FORM_TYPE") continue;
    if (name === "pubsub#deliver") out.deliver = parseBoolOption(vals[0] ?? "");
    else throw pubsubError("modify", "bad-request", "invalid-options", `Unknown option ${name}`);
  }
  return out;
}

function parseBoolOption(v: string): boolean {
  try {
    return parseBool(v, "pubsub#deliver");
  } catch {
    throw pubsubError("modify", "bad-request", "invalid-options");
  }
}

function optionsForm(deliver: boolean): Element {
  return form("form", [
    {
      var: "pubsub#deliver",
      type: "boolean",
      label: "Enable delivery?",
      values: [deliver ? "1" : "0"],
    },
  ], { formType: NS_SUBSCRIBE_OPTIONS });
}

/** The subscription `op` names, checked against the requester (§6.3.4). */
async function subscriptionFor(svc: PubsubService, requester: Jid, op: Element) {
  const name = nodeAttr(op);
  const jid = jidOf(op);
  if (jid.bare !== requester.bare && !svc.isAdmin(requester.bare)) {
    throw pubsubError("auth", "forbidden");
  }
  const node = await svc.engine.requireNode(SCOPE, name);
  const extras = await svc.extras(name);
  const data = extras.subs[jid.full];
  if (!(jid.full in node.subscriptions) || !data) {
    throw pubsubError("cancel", "unexpected-request", "not-subscribed");
  }
  if (op.attrs.subid !== undefined && op.attrs.subid !== data.subid) {
    throw pubsubError("modify", "not-acceptable", "invalid-subid");
  }
  return { name, jid, extras, data };
}

/** §6.3.2: the form of one subscription's options. */
export async function optionsGet(
  svc: PubsubService,
  requester: Jid,
  op: Element,
): Promise<IqAnswer> {
  const { name, jid, data } = await subscriptionFor(svc, requester, op);
  return el(
    "pubsub",
    { xmlns: NS_PUBSUB },
    el("options", { node: name, jid: jid.full, subid: data.subid }, optionsForm(data.deliver)),
  );
}

/** §6.3.5: submit options. */
export async function optionsSet(
  svc: PubsubService,
  requester: Jid,
  op: Element,
): Promise<IqAnswer> {
  return await svc.serial(async () => {
    const { name, extras, data } = await subscriptionFor(svc, requester, op);
    if (!parseForm(op)) throw pubsubError("modify", "bad-request", "invalid-options");
    const options = parseSubscribeOptions(op);
    if (options.deliver !== undefined) data.deliver = options.deliver;
    await svc.setExtras(name, extras);
    return EMPTY_RESULT;
  });
}
