/**
 * The status page on the HTTP server:
 *
 * - GET  /status            the login form, or the dashboard once logged in
 * - POST /status/login      form login (address + password, checked as PLAIN is)
 * - POST /status/scram      SCRAM login in two JSON steps (the page's script; scram_login.ts)
 * - POST /status/logout     forget the login cookie
 * - GET  /status/data       the snapshot as JSON (polling)
 * - GET  /status/events     the snapshot every `status.refreshSeconds` (server-sent events)
 * - GET  /status/app.js, /status/style.css, /status/icon.svg   the embedded assets
 *
 * Only over HTTPS, or plain HTTP from loopback (as the XMPP transports
 * judge it: the plain listener sits behind a local TLS proxy), since a
 * password travels in the login. CSRF: the cookie is SameSite=Strict and
 * every POST must carry an Origin equal to this server's.
 */
import type { HttpRequestInfo, HttpRoutes } from "../routes.ts";
import {
  asset,
  FORM_LIMIT,
  html,
  json,
  methodNotAllowed,
  readForm,
  readJson,
  redirect,
  sameOrigin,
  SECURITY_HEADERS,
  text,
} from "./responses.ts";
import { isLoopback } from "../client_address.ts";
import type { AuthProvider } from "../../auth/types.ts";
import type { LoginThrottle } from "../../auth/login_throttle.ts";
import { logger } from "../../log.ts";
import { APP_JS, dashboardPage, ICON_SVG, LOGIN_JS, loginPage, STYLE_CSS } from "./assets.ts";
import { checkAdminLogin, isAdmin } from "./admin_login.ts";
import {
  clearCookie,
  loadSecret,
  loginCookie,
  readCookie,
  signLogin,
  type StatusLogin,
  verifyLogin,
} from "./cookie.ts";
import { statusSnapshot, type StatusSources } from "./snapshot.ts";
import { EventStreams } from "./events.ts";
import { ScramLogins } from "./scram_login.ts";

const log = logger("http");

export interface StatusDeps extends StatusSources {
  auth: AuthProvider;
  throttle: LoginThrottle;
}

export interface StatusRoutes {
  /** End the live event streams (server shutdown). */
  close(): void;
}

export function addStatusRoutes(routes: HttpRoutes, deps: StatusDeps): StatusRoutes {
  const settings = deps.config.status;
  if (!settings.enabled) return { close() {} };
  let secret: Promise<Uint8Array> | undefined;
  const getSecret = () =>
    secret ??= loadSecret(deps.config.dataDir).catch((err) => {
      secret = undefined;
      throw err;
    });
  const scram = new ScramLogins({
    hosts: deps.hosts,
    auth: deps.auth,
    throttle: deps.throttle,
    scramIterations: deps.config.auth.scramIterations,
  });
  const streams = new EventStreams(
    settings.refreshSeconds,
    (viewer) => statusSnapshot(deps, viewer),
    // An admin removed by a reload stops watching at the next tick, not when the login expires.
    (viewer) => isAdmin(deps.hosts, viewer),
  );

  /** The request's valid admin login, if it carries one. */
  const loginOf = async (req: Request): Promise<StatusLogin | undefined> => {
    const value = readCookie(req.headers.get("cookie"));
    if (value === undefined) return undefined;
    const login = verifyLogin(await getSecret(), value);
    return login && isAdmin(deps.hosts, login.jid) ? login : undefined;
  };

  /** Log a refusal; its status and message. */
  const refused = (reason: keyof typeof REFUSALS, info: HttpRequestInfo) => {
    log.info("status page login refused for {address}: {reason}", {
      address: info.remoteAddress,
      reason,
    });
    return REFUSALS[reason];
  };

  /** Log a login; its Set-Cookie. */
  const loggedIn = async (jid: string, info: HttpRequestInfo) => {
    log.info("{jid} logged in to the status page from {address}", {
      jid,
      address: info.remoteAddress,
    });
    const exp = Date.now() + settings.sessionSeconds * 1000;
    const cookie = signLogin(await getSecret(), { jid, exp });
    return loginCookie(cookie, settings.sessionSeconds, info.secure);
  };

  const guarded = (
    handler: (req: Request, info: HttpRequestInfo) => Promise<Response> | Response,
  ) =>
  (req: Request, info: HttpRequestInfo) => {
    if (!info.secure && !isLoopback(info.remoteAddress)) {
      return text(403, "The status page is served over HTTPS only.");
    }
    return handler(req, info);
  };

  routes.add(
    "/status",
    guarded(async (req) => {
      if (req.method !== "GET" && req.method !== "HEAD") return methodNotAllowed("GET");
      const login = await loginOf(req);
      return html(200, login ? dashboardPage(login.jid) : loginPage());
    }),
  );

  routes.add(
    "/status/login",
    guarded(async (req, info) => {
      if (req.method !== "POST") return methodNotAllowed("POST");
      if (!sameOrigin(req, info)) return text(403, "Cross-origin login refused.");
      const form = await readForm(req);
      if (!form) return html(400, loginPage("The login form was not readable."));
      const verdict = await checkAdminLogin(
        { hosts: deps.hosts, auth: deps.auth, throttle: deps.throttle },
        form.get("jid") ?? "",
        form.get("password") ?? "",
        info.remoteAddress,
      );
      if (!verdict.ok) {
        const [status, message] = refused(verdict.reason, info);
        return html(status, loginPage(message), status === 429 ? { "retry-after": "60" } : {});
      }
      return redirect("/status", await loggedIn(verdict.jid, info));
    }),
    { maxBodyBytes: FORM_LIMIT },
  );

  routes.add(
    "/status/scram",
    guarded(async (req, info) => {
      if (req.method !== "POST") return methodNotAllowed("POST");
      if (!sameOrigin(req, info)) return text(403, "Cross-origin login refused.");
      const body = await readJson(req);
      const result = await scram.step(body, info.remoteAddress);
      switch (result.kind) {
        case "malformed":
          return json(400, { error: "Malformed SCRAM exchange." });
        case "busy":
          return json(503, { error: "Too many logins in progress; try again." });
        case "challenge":
          return json(200, { id: result.id, data: result.data });
      }
      const verdict = result.verdict;
      if (!verdict.ok) {
        const [status, message] = refused(verdict.reason, info);
        return json(status, { error: message });
      }
      return json(200, { data: result.data }, { "set-cookie": await loggedIn(verdict.jid, info) });
    }),
    { maxBodyBytes: FORM_LIMIT },
  );

  routes.add(
    "/status/logout",
    guarded((req, info) => {
      if (req.method !== "POST") return methodNotAllowed("POST");
      if (!sameOrigin(req, info)) return text(403, "Cross-origin request refused.");
      return redirect("/status", clearCookie(info.secure));
    }),
  );

  routes.add(
    "/status/data",
    guarded(async (req) => {
      if (req.method !== "GET") return methodNotAllowed("GET");
      const login = await loginOf(req);
      if (!login) return json(401, { error: "login required" });
      return json(200, statusSnapshot(deps, login.jid));
    }),
  );

  routes.add(
    "/status/events",
    guarded(async (req) => {
      if (req.method !== "GET") return methodNotAllowed("GET");
      const login = await loginOf(req);
      if (!login) return json(401, { error: "login required" });
      const body = streams.open(login.exp, login.jid);
      if (!body) return text(503, "Too many live views; reload later.", { "retry-after": "10" });
      return new Response(body, {
        headers: {
          ...SECURITY_HEADERS,
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-store",
        },
      });
    }),
  );

  routes.add("/status/app.js", () => asset(APP_JS, "text/javascript; charset=utf-8"));
  routes.add("/status/login.js", () => asset(LOGIN_JS, "text/javascript; charset=utf-8"));
  routes.add("/status/style.css", () => asset(STYLE_CSS, "text/css; charset=utf-8"));
  routes.add("/status/icon.svg", () => asset(ICON_SVG, "image/svg+xml"));

  return { close: () => streams.closeAll() };
}

const REFUSALS = {
  "throttled": [429, "Too many failed logins; try again later."],
  "bad-credentials": [401, "Wrong address or password."],
  "not-admin": [403, "This account is not an admin of its host."],
  "unavailable": [503, "The account store is not answering; try again later."],
} as const;
