/**
 * vCard-based avatars kept in step with PEP avatars (XEP-0398):
 * - an avatar published to PEP (XEP-0084 metadata naming a data item) is
 *   written into the account's vcard-temp PHOTO, and an empty metadata
 *   removes it;
 * - a vcard-temp PHOTO set by an older client is published to the PEP
 *   data and metadata nodes;
 * - the account's outgoing presence carries the avatar's hash as XEP-0153
 *   `<x xmlns='vcard-temp:x:update'><photo>hash</photo></x>`, replacing
 *   whatever the client put there.
 */
import { createHash } from "node:crypto";
import type { ModuleApi } from "../../../core/module_api.ts";
import type { StanzaEvent } from "../../../core/router.ts";
import type { SessionEvent } from "../../../core/sessions.ts";
import type { UserDeletedEvent } from "../../../core/accounts.ts";
import { el, type Element } from "../../../xml/element.ts";
import { parseElement, serializedBytes } from "../../../util/xml_fragment.ts";
import { decodeBase64 } from "../../../util/base64.ts";
import type { PepPublishedEvent, PepRemovedEvent, PepService } from "./service.ts";
import { NS_VCARD } from "../../../xml/namespaces.ts";

export const NS_AVATAR_DATA = "urn:xmpp:avatar:data";
export const NS_AVATAR_METADATA = "urn:xmpp:avatar:metadata";
export const NS_VCARD_UPDATE = "vcard-temp:x:update";
export const NS_PEP_VCARD_CONVERSION = "urn:xmpp:pep-vcard-conversion:0";

const decodeBase64Lenient = (s: string) => decodeBase64(s.replace(/\s+/g, ""));
const sha1Hex = (bytes: Uint8Array) => createHash("sha1").update(bytes).digest("hex");
/**
 * The hash of an account whose avatar was removed (an empty metadata
 * item): its presence says so with an empty `<photo/>` (XEP-0153 §4.1),
 * unlike an account that never had one ("": presence left as written).
 */
const REMOVED = "-";

export function installAvatarCompat(api: ModuleApi, pep: PepService): void {
  const vcards = api.keyval("vcard");
  const maxVcardBytes = api.config.vcard.maxBytes;
  /** username → avatar hash ("" for none, REMOVED), for the accounts online. */
  const hashes = new Map<string, string>();

  const loadVcard = async (user: string): Promise<Element | undefined> => {
    const stored = await vcards.get(user);
    return typeof stored === "string" ? parseElement(stored) : undefined;
  };

  const photoHash = (vcard: Element | undefined): string | undefined => {
    const binval = vcard?.getChild("PHOTO")?.getChildText("BINVAL");
    if (binval === undefined) return undefined;
    const bytes = decodeBase64Lenient(binval);
    return bytes ? sha1Hex(bytes) : undefined;
  };

  /** The current avatar hash from the PEP metadata node ("" when none). */
  const currentHash = async (user: string): Promise<string> => {
    const cached = hashes.get(user);
    if (cached !== undefined) return cached;
    const node = await pep.engine.getNode(user, NS_AVATAR_METADATA);
    const item = node ? await pep.engine.lastItem(user, node) : undefined;
    const info = item ? parseElement(item.payload)?.getChild("info") : undefined;
    const hash = info?.attrs.id ?? (item ? REMOVED : photoHash(await loadVcard(user)) ?? "");
    if (api.sessions.resources(api.domain, user).length > 0) hashes.set(user, hash);
    return hash;
  };

  /**
   * Write (or with `photo` undefined remove) the vCard's PHOTO. The vCard
   * store's limit holds whoever writes: a PEP item may be far bigger
   * (pep.maxItemBytes), and every vCard read would carry it. A photo over
   * the limit is left out, and the old one with it: it is stale.
   */
  const writePhoto = async (user: string, photo: Element | undefined) => {
    const vcard = (await loadVcard(user)) ?? el("vCard", { xmlns: NS_VCARD });
    vcard.children = vcard.children.filter((c) => typeof c === "string" || c.name !== "PHOTO");
    let text = vcard.getChildren().length === 0 ? undefined : serializedBytes(vcard).text;
    if (photo) {
      vcard.append(photo);
      const withPhoto = serializedBytes(vcard);
      if (withPhoto.bytes <= maxVcardBytes) text = withPhoto.text;
      else {
        api.log.info("avatar of {user} not copied into the vCard: {bytes} bytes, over {max}", {
          user,
          bytes: withPhoto.bytes,
          max: maxVcardBytes,
        });
      }
    }
    await vcards.set(user, text);
  };

  // PEP → vCard.
  api.hook<PepPublishedEvent>("pep-published", async ({ username, node, payload }) => {
    if (node !== NS_AVATAR_METADATA) return;
    const info = payload?.getChildren("info").find((i) => i.attrs.url === undefined);
    if (!info) {
      // Only images hosted elsewhere: nothing to copy, and not a removal
      // either (XEP-0084 §4.5: that is an empty metadata element).
      if (payload?.getChild("info")) return;
      hashes.set(username, REMOVED);
      if (photoHash(await loadVcard(username)) !== undefined) await writePhoto(username, undefined);
      return;
    }
    const id = info.attrs.id ?? "";
    hashes.set(username, id);
    if (photoHash(await loadVcard(username)) === id) return;
    const dataNode = await pep.engine.getNode(username, NS_AVATAR_DATA);
    const [data] = dataNode ? await pep.engine.items(username, dataNode, { ids: [id] }) : [];
    const b64 = data ? parseElement(data.payload)?.text().replace(/\s+/g, "") : undefined;
    const bytes = b64 ? decodeBase64Lenient(b64) : undefined;
    // XEP-0398 §3.1: the data must be the image the id (its SHA-1) names.
    if (!b64 || !bytes || sha1Hex(bytes) !== id) return;
    await writePhoto(
      username,
      el(
        "PHOTO",
        {},
        el("TYPE", {}, info.attrs.type ?? "image/png"),
        el("BINVAL", {}, b64),
      ),
    );
  });

  api.hook<PepRemovedEvent>("pep-removed", ({ username, node }) => {
    if (node === NS_AVATAR_METADATA) hashes.delete(username);
  });

  // vCard → PEP.
  api.hook("vcard-updated", async (ev: { username: string; vcard: Element }) => {
    const photo = ev.vcard.getChild("PHOTO");
    const binval = photo?.getChildText("BINVAL")?.replace(/\s+/g, "");
    const bytes = binval ? decodeBase64Lenient(binval) : undefined;
    const own = pep.bareOf(ev.username);
    if (!photo) {
      // XEP-0153 §3.1: a vCard without PHOTO means "no avatar"; the PEP
      // avatar goes too (XEP-0084 §4.5: an empty metadata element).
      const hash = await currentHash(ev.username);
      if (hash === "" || hash === REMOVED) return;
      await pep.publish(ev.username, {
        node: NS_AVATAR_METADATA,
        id: "current",
        payload: el("metadata", { xmlns: NS_AVATAR_METADATA }),
        publisher: own,
        autoCreate: true,
      });
      return;
    }
    if (!bytes || !binval) return;
    const id = sha1Hex(bytes);
    if ((await currentHash(ev.username)) === id) return;
    const type = photo?.getChildText("TYPE") ?? "image/png";
    await pep.publish(ev.username, {
      node: NS_AVATAR_DATA,
      id,
      payload: el("data", { xmlns: NS_AVATAR_DATA }, binval),
      publisher: own,
      autoCreate: true,
    });
    await pep.publish(ev.username, {
      node: NS_AVATAR_METADATA,
      id,
      payload: el(
        "metadata",
        { xmlns: NS_AVATAR_METADATA },
        el("info", { id, type, bytes: String(bytes.length) }),
      ),
      publisher: own,
      autoCreate: true,
    });
  });

  // XEP-0153: the hash in every available presence the account sends.
  // Synchronous whenever it can be: the presence handlers after this one
  // read session state that a connection loss clears right after the
  // event (unavailable presence never waits here). The hash is loaded when
  // a resource binds, so an available presence rarely has to wait for it.
  const stamp = (stanza: Element, hash: string) => {
    // No avatar known: the presence goes as the client wrote it (it may
    // know better, and an account without avatars sees no change at all).
    if (hash === "") return false;
    const theirs = stanza.getChild("x", NS_VCARD_UPDATE);
    // XEP-0398 §4: a client's empty <photo/> ("not ready" or "none") stays.
    const photo = theirs?.getChild("photo");
    if (photo && photo.text() === "") return false;
    stanza.children = stanza.children.filter((c) => c !== theirs);
    const ours = hash === REMOVED ? el("photo") : el("photo", {}, hash);
    stanza.append(el("x", { xmlns: NS_VCARD_UPDATE }, ours));
    return false;
  };
  const stampPresence = (ev: StanzaEvent) => {
    const user = ev.origin?.username;
    if (!user || ev.stanza.attrs.type !== undefined) return false;
    const cached = hashes.get(user);
    if (cached !== undefined) return stamp(ev.stanza, cached);
    return currentHash(user).then((hash) => stamp(ev.stanza, hash));
  };
  api.hook("presence/self", stampPresence, 20);
  // XEP-0398 §4: directed presence too (MUC joins, presence to a JID).
  for (const to of ["bare", "full", "host", "remote"]) {
    api.hook(`pre-presence/${to}`, stampPresence, 20);
  }

  api.hook<SessionEvent>("resource-bind", ({ session }) => {
    if (!session.username) return;
    currentHash(session.username).catch((err) =>
      api.log.warn("loading the avatar hash of {user} failed: {err}", {
        user: session.username,
        err,
      })
    );
  });

  api.hook<SessionEvent>("resource-unbind", ({ session }) => {
    const user = session.username;
    if (user && api.sessions.resources(api.domain, user).length === 0) hashes.delete(user);
  });
  api.hook<UserDeletedEvent>("user-deleted", ({ username }) => void hashes.delete(username));
}
