/**
 * vcard-temp (XEP-0054): each user stores one `<vCard xmlns='vcard-temp'/>`
 * and anyone may read it through the user's bare JID, which the server
 * answers on the user's behalf (§3.3: never forwarded to a resource).
 *
 * The element is kept as the exact XML the client sent, serialized, so a
 * client reads back what it wrote (unknown fields and extensions too).
 */
import { el, type Element } from "../xml/element.ts";
import { StanzaError } from "../core/errors.ts";
import type { ParleyModule } from "../core/module_api.ts";
import type { StanzaEvent } from "../core/router.ts";
import { parseElement, serializedBytes } from "../util/xml_fragment.ts";
import { NS_VCARD } from "../xml/namespaces.ts";
export { NS_VCARD };

export const vcardModule: ParleyModule = {
  name: "vcard",
  setup(api) {
    const store = api.keyval("vcard");
    const maxBytes = api.config.vcard.maxBytes;
    api.addFeature(NS_VCARD);

    const load = async (user: string): Promise<Element | undefined> => {
      const stored = await store.get(user);
      return typeof stored === "string" ? parseElement(stored) : undefined;
    };

    /** The iq result carrying `vcard`, from the JID the request went to. */

    // §3.1: with nothing stored the server may answer item-not-found or an
    // empty vCard; the empty vCard lets clients that read-modify-write
    // their own card start from nothing without treating it as a failure.
    api.hook(`iq-get/self/${NS_VCARD}:vCard`, async (ev: StanzaEvent) => {
      const vcard = await load(ev.origin!.username!);
      api.replyResult(ev, vcard ?? el("vCard", { xmlns: NS_VCARD }));
      return true;
    });

    api.hook(`iq-set/self/${NS_VCARD}:vCard`, async (ev: StanzaEvent) => {
      const user = ev.origin!.username!;
      const vcard = ev.stanza.firstElement()!;
      if (vcard.getChildren().length === 0) {
        // An empty vCard clears it: nothing is left worth storing. Still an
        // update: it has no PHOTO, so the PEP avatar goes too (XEP-0398).
        await store.set(user, undefined);
        api.replyResult(ev);
        api.emit("vcard-updated", { username: user, vcard });
        return true;
      }
      const { text, bytes } = serializedBytes(vcard);
      if (bytes > maxBytes) {
        // not-acceptable, as for XEP-0049's refused data: the request is
        // understood but fails a criterion of the server (RFC 6120
        // §8.3.3.9); policy-violation is for content the service forbids,
        // and the text tells the client the limit to shrink under.
        throw new StanzaError(
          "modify",
          "not-acceptable",
          `vCard is ${bytes} bytes; the limit is ${maxBytes}`,
        );
      }
      await store.set(user, text);
      api.replyResult(ev);
      api.emit("vcard-updated", { username: user, vcard });
      return true;
    });

    // §3.3: someone else's vCard. "No vCard" and "no such user" MUST get the
    // same error (no directory harvesting); service-unavailable is what an
    // iq to an unknown account gets everywhere else on this server.
    api.hook(`iq-get/bare/${NS_VCARD}:vCard`, async (ev: StanzaEvent) => {
      const user = ev.to!.local!;
      const vcard = await load(user);
      if (vcard === undefined || !(await api.auth.userExists(api.domain, user))) {
        throw new StanzaError("cancel", "service-unavailable");
      }
      api.replyResult(ev, vcard);
      return true;
    });

    // §3.2: forbidden or not-allowed; forbidden, as the XEP's example.
    api.hook(`iq-set/bare/${NS_VCARD}:vCard`, () => {
      throw new StanzaError("auth", "forbidden", "You can only set your own vCard");
    });
  },
};
