/**
 * The landing page's HTTP route, `/invite/<token>` (server.ts adds it).
 * Each host running the invites module provides an `InviteHttp`; the
 * route asks each for the token. GET shows the invite; POST registers
 * from the page's form: only over HTTPS (or loopback, behind a local TLS
 * proxy), only with this origin's Origin header (CSRF), and throttled per
 * client address.
 */
import type { HttpRequestInfo, HttpRoutes } from "../../http/routes.ts";
import type { Host } from "../../core/host.ts";
import type { Config } from "../../config/schema.ts";
import { isLoopback } from "../../http/client_address.ts";
import {
  asset,
  html,
  methodNotAllowed,
  readForm,
  sameOrigin,
  text,
} from "../../http/status/responses.ts";
import { FailureThrottle } from "../../auth/throttle.ts";
import { addressKey } from "../../net/address_key.ts";
import {
  invalidPage,
  INVITE_CSS,
  INVITE_JS,
  landingPage,
  type LandingView,
  registeredPage,
} from "./page.ts";
import type { Redemption } from "./redeem.ts";
import { uriPath } from "./uri.ts";

export const INVITE_HTTP = "invite-http";
const PATH = "/invite/";

/** What a host's invites module offers the route. */
export interface InviteHttp {
  view(token: string): Promise<LandingView | undefined>;
  /** Check the fields, then redeem: a message for the person on failure. */
  register(token: string, username: string, password: string): Promise<Redemption | string>;
}

export function addInviteRoute(
  routes: HttpRoutes,
  hosts: ReadonlyMap<string, Host>,
  config: Config,
): void {
  const attempts = new FailureThrottle(
    config.invites.maxAttemptsPerIp,
    config.invites.windowSeconds,
  );
  routes.add(`${PATH}style.css`, () => asset(INVITE_CSS, "text/css; charset=utf-8"));
  routes.add(`${PATH}app.js`, () => asset(INVITE_JS, "text/javascript; charset=utf-8"));

  const find = async (token: string) => {
    for (const host of hosts.values()) {
      for (const provider of host.providers.items<InviteHttp>(INVITE_HTTP)) {
        const view = await provider.view(token);
        if (view) return { provider, view };
      }
    }
    return undefined;
  };

  routes.add(PATH, async (req: Request, info: HttpRequestInfo) => {
    if (!info.secure && !isLoopback(info.remoteAddress)) {
      return text(403, "Invitations are served over HTTPS only.");
    }
    // Tokens are base64url: nothing to decode, and a peer's bad %-escape must not throw (a 500).
    const token = new URL(req.url).pathname.slice(PATH.length);
    if (req.method === "GET" || req.method === "HEAD") {
      const found = await find(token);
      return found ? html(200, landingPage(found.view)) : html(404, invalidPage());
    }
    if (req.method !== "POST") return methodNotAllowed("GET, POST");
    if (!sameOrigin(req, info)) return text(403, "Cross-origin request refused.");
    // Keyed like the login throttle: an IPv6 /64 is one client.
    const client = addressKey(info.remoteAddress);
    if (attempts.isBlocked(client)) {
      return text(429, "Too many attempts; try again later.", { "retry-after": "60" });
    }
    attempts.fail(client);
    const found = await find(token);
    if (!found) return html(404, invalidPage());
    const form = await readForm(req);
    if (!form) return html(400, landingPage(found.view, "The form was not readable."));
    const result = await found.provider.register(
      token,
      form.get("username") ?? "",
      form.get("password") ?? "",
    );
    if (typeof result === "string") return html(400, landingPage(found.view, result));
    if (!result.ok) {
      const messages = {
        invalid: "This invitation is no longer valid.",
        username: "This invitation is for another username.",
        conflict: "That username is taken; choose another.",
        reserved: "That username belonged to a deleted account; choose another.",
      };
      if (result.reason === "invalid") return html(410, invalidPage());
      return html(409, landingPage(found.view, messages[result.reason]));
    }
    return html(200, registeredPage(result.jid, `xmpp:${uriPath(result.jid)}`));
  });
}
