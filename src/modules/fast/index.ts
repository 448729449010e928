/**
 * FAST (XEP-0484, urn:xmpp:fast:0): a client installation that logged in
 * once over SASL2 asks for a token (`<request-token/>`) and logs in next
 * time with HT-SHA-256-* and that token instead of the password — one
 * HMAC instead of PBKDF2, in one round trip. Tokens: tokens.ts; the
 * mechanism: ht.ts. Offered as SASL2 inline feature only (never in the
 * mechanism lists), over TLS only.
 */
import type { ParleyModule } from "../../core/module_api.ts";
import { el } from "../../xml/element.ts";
import { NS } from "../../xml/namespaces.ts";
import { userAgentId } from "../../stream/sasl2.ts";
import type { C2sStream } from "../../stream/c2s.ts";
import { FastTokens, loadSecret } from "./tokens.ts";
import { HT_ENDP, HT_NONE, HtExchange } from "./ht.ts";

/** The file (in the data directory) holding the secret tokens are derived from. */
const SECRET_FILE = "fast-token.key";

export const fastModule: ParleyModule = {
  name: "fast",
  async setup(api) {
    const secret = await loadSecret(`${api.config.dataDir}/${SECRET_FILE}`);
    const tokens = new FastTokens(
      api.map("fast_tokens"),
      secret,
      api.auth,
      api.domain,
      api.config.fast.tokenDays,
    );

    const names = (stream: C2sStream): string[] => {
      if (!stream.transport.secure) return [];
      return stream.tlsServerEndPoint() ? [HT_ENDP, HT_NONE] : [HT_NONE];
    };

    api.provide("sasl2-mechanism", {
      names,
      start: (name, _ctx, authenticate, stream) => {
        if (!names(stream).includes(name)) return undefined;
        const cb = name === HT_ENDP ? stream.tlsServerEndPoint()! : new Uint8Array();
        return new HtExchange(tokens, userAgentId(authenticate), cb, name);
      },
    });

    api.provide("sasl2-inline", {
      ns: NS.fast,
      feature: (stream) => {
        const offered = names(stream);
        return offered.length
          ? el("fast", { xmlns: NS.fast }, ...offered.map((m) => el("mechanism", {}, m)))
          : undefined;
      },
      handle: async ({ session, authenticate, mechanism, stream }) => {
        const agent = userAgentId(authenticate);
        const username = session.username;
        if (agent === undefined || username === undefined) return undefined;
        const viaToken = mechanism.startsWith("HT-");
        const fast = authenticate.getChild("fast", NS.fast);
        if (viaToken && (fast?.attrs.invalidate === "true" || fast?.attrs.invalidate === "1")) {
          await tokens.invalidate(username, agent);
          api.log.info("{user}: FAST tokens of a client invalidated", { user: session.bareJid });
          return undefined;
        }
        const request = authenticate.getChild("request-token", NS.fast);
        const wanted = request?.attrs.mechanism;
        if (!wanted || !names(stream).includes(wanted)) return undefined;
        const issued = await tokens.issue(username, agent, wanted);
        return {
          element: el("token", {
            xmlns: NS.fast,
            expiry: new Date(issued.expires).toISOString(),
            token: issued.token,
          }),
        };
      },
    });

    // The account's data goes with it anyway; this is for stores kept elsewhere.
    api.hook("user-deleted", async ({ username }) => {
      await tokens.clear(username);
    });
  },
};
