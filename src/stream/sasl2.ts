/**
 * The wire side of SASL2 (XEP-0388) and Bind2 (XEP-0386) for the client
 * stream: the feature, the replies, the user agent and the resource a
 * user agent gets. The flow itself lives in c2s_auth.ts beside SASL1, so
 * both share one throttle, one attempt counter and one mechanism list;
 * what follows a success in sasl2_success.ts and bind2.ts.
 */
import { createHash } from "node:crypto";
import { el, type Element } from "../xml/element.ts";
import { NS } from "../xml/namespaces.ts";
import { prepResource } from "../jid.ts";
import { randomId } from "../util/random.ts";
import type { Bind2Inline } from "../core/inline_features.ts";

/** User agent ids longer than this are ignored (a UUID is 36). */
const MAX_USER_AGENT_ID = 256;
/** The tag's part of a Bind2 resource, in characters (code points). */
const MAX_TAG = 32;

/**
 * The `id` of `<user-agent/>` in an `<authenticate/>` (its `<software/>`
 * and `<device/>` are informational and unused here); undefined when
 * absent, empty or longer than the bound.
 */
export function userAgentId(authenticate: Element): string | undefined {
  const id = authenticate.getChild("user-agent")?.attrs.id;
  return id !== undefined && id.length > 0 && id.length <= MAX_USER_AGENT_ID ? id : undefined;
}

/**
 * The Bind2 resource (XEP-0386 §3): the client's tag, then a short hash
 * of its user agent id, so one installation gets the same resource at
 * every login (and replaces its own stale session) while two devices with
 * the same software do not collide. Without an id the resource is random.
 * The hash covers the account too: a client may use one id for all its
 * accounts, and the same suffix on each would tell their contacts that
 * the accounts share a device.
 */
export function bind2Resource(
  tag: string | undefined,
  userAgentId: string | undefined,
  account = "",
): string {
  // Cut by code points: a cut by UTF-16 units can split a surrogate pair,
  // and the lone half would reach the wire as U+FFFD, a JID the server
  // does not hold. (MAX_TAG code points fit in 2 * MAX_TAG units, so the
  // first cut, which bounds the work, never reaches the kept part.)
  const prepped = tag
    ? prepResource([...tag.trim().slice(0, 2 * MAX_TAG)].slice(0, MAX_TAG).join(""))
    : undefined;
  const suffix = userAgentId === undefined
    ? randomId(8)
    : createHash("sha256").update(account + "\0" + userAgentId).digest("hex").slice(0, 8);
  const resource = prepped ? `${prepped}.${suffix}` : suffix;
  return prepResource(resource) ?? suffix;
}

/** The `<authentication/>` stream feature. */
export function authenticationFeature(
  mechanisms: readonly string[],
  bindInline: readonly Bind2Inline[],
  inline: readonly Element[],
): Element {
  const bind = el(
    "bind",
    { xmlns: NS.bind2 },
    el("inline", {}, ...bindInline.map((i) => el("feature", { var: i.ns }))),
  );
  return el(
    "authentication",
    { xmlns: NS.sasl2 },
    ...mechanisms.map((m) => el("mechanism", {}, m)),
    el("inline", {}, bind, ...inline),
  );
}

export function sasl2Failure(condition: string, text?: string): Element {
  return el(
    "failure",
    { xmlns: NS.sasl2 },
    el(condition, { xmlns: NS.sasl }),
    text ? el("text", {}, text) : undefined,
  );
}

export function sasl2Challenge(base64: string): Element {
  return el("challenge", { xmlns: NS.sasl2 }, base64);
}

export function sasl2Success(
  additionalData: string | undefined,
  authorizationIdentifier: string,
  extra: readonly Element[],
): Element {
  return el(
    "success",
    { xmlns: NS.sasl2 },
    additionalData ? el("additional-data", {}, additionalData) : undefined,
    el("authorization-identifier", {}, authorizationIdentifier),
    ...extra,
  );
}
