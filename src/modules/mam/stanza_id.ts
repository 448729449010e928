/**
 * XEP-0359 `<stanza-id/>`: where an archive keeps a message. Only the
 * archive named in `by` may say so (§3.2): a `<stanza-id/>` claiming to
 * be from a user's archive that arrives from anywhere else is forged and
 * is removed before anything else looks at the message (as is one `by` a
 * resource of the user: no archive's, and taken for the user's by clients
 * that compare bare parts). The client's
 * `<origin-id/>` is the sender's and stays untouched.
 */
import { el, type Element } from "../../xml/element.ts";
import { parseJid } from "../../jid.ts";
import { NS_SID } from "./ns.ts";

/** Whether `by` (as written, maybe unprepared) names `bare`. */
function names(by: string | undefined, bare: string): boolean {
  if (by === undefined) return false;
  if (by === bare) return true;
  return parseJid(by)?.full === bare;
}

/**
 * Whether `by` claims to be the archive of `bare`: that JID, or one of its
 * resources (no archive is a resource's, and a client comparing by the
 * bare part would believe it).
 */
function claims(by: string | undefined, bare: string): boolean {
  if (by === undefined) return false;
  if (by === bare) return true;
  return parseJid(by)?.bare === bare;
}

/** Remove every `<stanza-id/>` claiming to be by `bare` (or a resource of it) from `stanza` (in place). */
export function stripStanzaIds(stanza: Element, bare: string): void {
  const kids = stanza.children;
  // Most messages carry none: look before allocating a new array.
  let found = false;
  for (const c of kids) {
    if (typeof c !== "string" && c.name === "stanza-id" && c.attrs.xmlns === NS_SID) {
      found = true;
      break;
    }
  }
  if (!found) return;
  stanza.children = kids.filter((c) =>
    typeof c === "string" || c.name !== "stanza-id" || c.attrs.xmlns !== NS_SID ||
    !claims(c.attrs.by, bare)
  );
}

/** Add `<stanza-id xmlns='urn:xmpp:sid:0' by=bare id=id/>`. */
export function stampStanzaId(stanza: Element, bare: string, id: string): void {
  stanza.append(el("stanza-id", { xmlns: NS_SID, by: bare, id }));
}

/** The id of the `<stanza-id by=bare/>` the message carries, if any. */
export function stanzaIdBy(stanza: Element, bare: string): string | undefined {
  for (const c of stanza.children) {
    if (
      typeof c !== "string" && c.name === "stanza-id" && c.attrs.xmlns === NS_SID &&
      names(c.attrs.by, bare)
    ) {
      return c.attrs.id;
    }
  }
  return undefined;
}
