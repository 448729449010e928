/**
 * What may wait while a client says it is inactive (XEP-0352 §5 leaves the
 * choice to the server): the idea of Prosody's mod_csi_simple. Presence
 * updates, chat states, receipts, chat markers and PEP events can wait;
 * anything else — a message with a body, a carbon of one, a MAM result,
 * an encrypted payload, an iq, an error, a subscription request — is
 * important: it goes out at once, after what was held. An unknown payload
 * counts as important, so a client never misses what it did not expect.
 *
 * A held stanza gets a key: a newer stanza with the same key replaces it
 * (only the latest presence of a contact's resource and the latest chat
 * state of a sender matter); "" means no de-duplication.
 */
import type { Element } from "../../xml/element.ts";

const CHATSTATES = "http://jabber.org/protocol/chatstates";
const CARBONS = "urn:xmpp:carbons:2";
const FORWARD = "urn:xmpp:forward:0";
const MUC_USER = "http://jabber.org/protocol/muc#user";

/** Payloads that ride along with others and decide nothing by themselves. */
const PASSIVE = new Set(["urn:xmpp:hints", "urn:xmpp:sid:0", "urn:xmpp:delay"]);
/** Payloads that can wait: acknowledgements and state, no content. */
const QUIET = new Set([
  "urn:xmpp:receipts",
  "urn:xmpp:chat-markers:0",
  "http://jabber.org/protocol/pubsub#event",
]);

/**
 * The hold key of a stanza sent to an inactive client; undefined when it
 * is important and must go out now. Only stanzas come here.
 */
export function holdKey(stanza: Element): string | undefined {
  if (stanza.name === "presence") return presenceKey(stanza);
  if (stanza.name === "message") return messageKey(stanza);
  return undefined;
}

function presenceKey(presence: Element): string | undefined {
  const type = presence.attrs.type;
  // Subscription requests and answers, errors: the user has to see them.
  if (type !== undefined && type !== "unavailable") return undefined;
  // A MUC room's presence for the user's own occupant (status 110) ends a
  // join the client waits for.
  const muc = presence.getChild("x", MUC_USER);
  if (muc && muc.getChildren("status").some((s) => s.attrs.code === "110")) return undefined;
  return "p " + (presence.attrs.from ?? "");
}

function messageKey(message: Element): string | undefined {
  if (message.attrs.type === "error") return undefined;
  // A carbon (XEP-0280) is as important as the message it carries; one level only.
  const carbon = message.getChildByNs(CARBONS);
  if (carbon) {
    const inner = carbon.getChild("forwarded", FORWARD)?.getChild("message");
    if (!inner || inner.attrs.type === "error") return undefined;
    const other = carbon.name === "sent" ? inner.attrs.to : inner.attrs.from;
    const key = contentKey(inner, other);
    return key === undefined || key === "" ? key : "carbon " + key;
  }
  return contentKey(message, message.attrs.from);
}

/** The key by a message's own payloads; `who` is the other party. */
function contentKey(message: Element, who: string | undefined): string | undefined {
  let chatState = false;
  let quiet = false;
  for (const child of message.children) {
    if (typeof child === "string") continue;
    const ns = child.attrs.xmlns;
    // body, subject, error, anything unqualified but a thread: content.
    if (ns === undefined) {
      if (child.name === "thread") continue;
      return undefined;
    }
    if (ns === CHATSTATES) chatState = true;
    else if (QUIET.has(ns)) quiet = true;
    else if (!PASSIVE.has(ns)) return undefined;
  }
  // Receipts, markers and PEP events are kept each: one is not another's update
  // (PEP items of one node may be different items, as bookmarks are).
  return chatState && !quiet ? "s " + (who ?? "") : "";
}
