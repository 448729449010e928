/**
 * The XEP-0357 elements: `<enable/>` and `<disable/>` from the client, and
 * the notification the server publishes to an app server (§7): a pubsub
 * publish to the registration's node with the `urn:xmpp:push:summary`
 * form, and the registration's publish-options (its secret…) sent back
 * unchanged.
 */
import { el, type Element } from "../../xml/element.ts";
import { form, type FormField, NS_DATA, parseForm } from "../../util/dataforms.ts";
import { parseJid } from "../../jid.ts";
import { StanzaError } from "../../core/errors.ts";
import { NS_PUBSUB } from "../../xml/namespaces.ts";
export { NS_PUBSUB };

export const NS_PUSH = "urn:xmpp:push:0";
const PUBLISH_OPTIONS = "http://jabber.org/protocol/pubsub#publish-options";
const SUMMARY = "urn:xmpp:push:summary";
/**
 * Not in XEP-0357: a client that wants message bodies in its notifications
 * says so with this boolean field in the enable form. It is ours, so it is
 * taken out of the publish-options the app server gets.
 */
export const INCLUDE_BODY = "parley#include-body";
/** Bounds on what one registration stores (its publish-options). */
const MAX_FIELDS = 20;
const MAX_FORM_CHARS = 4096;
/**
 * Longest node stored: app servers' nodes are tokens of a few hundred
 * characters at most; unbounded, one stanza could store its whole size
 * per registration, read again for every notification.
 */
export const MAX_NODE_LENGTH = 1024;

/** One registration (XEP-0357 §5), as stored. */
export interface Registration {
  /** The app server (prepared JID). */
  jid: string;
  node: string;
  /** The publish-options fields but FORM_TYPE, as [var, values]. */
  options: [string, string[]][];
  /** The client asked for bodies (INCLUDE_BODY). */
  body: boolean;
}

/** The storage key of a registration: one per app server and node. */
export function registrationKey(jid: string, node: string): string {
  return jid + " " + node;
}

function appServer(element: Element): string {
  const raw = element.attrs.jid;
  if (raw === undefined) {
    throw new StanzaError("modify", "bad-request", "The app server's jid is missing");
  }
  const jid = parseJid(raw);
  if (jid === undefined) throw new StanzaError("modify", "jid-malformed", "Invalid app server jid");
  return jid.full;
}

/** `<enable jid node>` with its optional publish-options form; throws StanzaError. */
export function parseEnable(enable: Element): Registration {
  const jid = appServer(enable);
  const node = enable.attrs.node;
  if (node === undefined || node === "") {
    throw new StanzaError("modify", "bad-request", "A node is required");
  }
  if (node.length > MAX_NODE_LENGTH) {
    throw new StanzaError("modify", "not-acceptable", "The node is too long");
  }
  const x = enable.getChild("x", NS_DATA);
  const options: [string, string[]][] = [];
  let body = false;
  if (x) {
    const values = parseForm(x)!;
    const formType = values.get("FORM_TYPE")?.[0];
    if (x.attrs.type !== "submit" || formType !== PUBLISH_OPTIONS) {
      throw new StanzaError("modify", "bad-request", "The form must submit publish-options");
    }
    let chars = 0;
    for (const [name, vals] of values) {
      if (name === "FORM_TYPE") continue;
      if (name === INCLUDE_BODY) {
        body = vals[0] === "1" || vals[0] === "true";
        continue;
      }
      chars += name.length + vals.reduce((n, v) => n + v.length, 0);
      options.push([name, vals]);
    }
    if (options.length > MAX_FIELDS || chars > MAX_FORM_CHARS) {
      throw new StanzaError("modify", "not-acceptable", "The publish-options form is too large");
    }
  }
  return { jid, node, options, body };
}

/** `<disable jid [node]>`: the app server, and the node when only one is meant. */
export function parseDisable(disable: Element): { jid: string; node: string | undefined } {
  return { jid: appServer(disable), node: disable.attrs.node };
}

export interface Summary {
  count: number;
  sender: string | undefined;
  /** Only when the registration asked for it and the operator allows it. */
  body: string | undefined;
}

/** The notification iq for one registration (XEP-0357 §7). */
export function notification(
  from: string,
  id: string,
  reg: Registration,
  summary: Summary,
): Element {
  const fields: FormField[] = [{ var: "message-count", values: [String(summary.count)] }];
  if (summary.sender !== undefined) {
    fields.push({ var: "last-message-sender", values: [summary.sender] });
  }
  if (summary.body !== undefined) fields.push({ var: "last-message-body", values: [summary.body] });
  const pubsub = el(
    "pubsub",
    { xmlns: NS_PUBSUB },
    el(
      "publish",
      { node: reg.node },
      el(
        "item",
        {},
        el("notification", { xmlns: NS_PUSH }, form("submit", fields, { formType: SUMMARY })),
      ),
    ),
  );
  if (reg.options.length > 0) {
    const options = reg.options.map(([name, values]) => ({ var: name, values }));
    pubsub.append(
      el("publish-options", {}, form("submit", options, { formType: PUBLISH_OPTIONS })),
    );
  }
  return el("iq", { type: "set", from, to: reg.jid, id }, pubsub);
}
