/**
 * The HTTP server: plain HTTP (for a reverse proxy in front) and HTTPS
 * with each host's certificate chosen by SNI. Requests go through the
 * limits (requests in progress per client address and in all, body size)
 * to the route table; see deno_internals.ts for why this binds its own
 * listeners instead of calling Deno.serve.
 */
import type { Config } from "../config/schema.ts";
import type { CertStore } from "../tls/certs.ts";
import { OncePerWindow } from "../util/once_per_window.ts";
import { logger } from "../log.ts";
import { clientOrigin, liveTrustedProxies } from "./client_address.ts";
import { BodyTimedOut, BodyTooLarge, limitBody } from "./limits.ts";
import { onBodyEnd } from "./body_end.ts";
import { ConnectionLimiter } from "../net/connection_limiter.ts";
import type { HttpRoutes } from "./routes.ts";
import { checkDenoInternals, type ListenerServer, serveListener } from "./deno_internals.ts";
import { bindHttpListener } from "./bind.ts";

const log = logger("http");

/** Longest close() waits for the listeners' connections to end. */
const CLOSE_WAIT_MS = 3000;

export interface HttpService {
  /** "http" / "https" → first bound port. */
  ports: Record<string, number>;
  close(): Promise<void>;
}

export function startHttp(
  config: Config,
  certs: CertStore,
  routes: HttpRoutes,
): HttpService {
  const { http, https } = config.listeners;
  const ports: Record<string, number> = {};
  if (!http.enabled && !https.enabled) return { ports, close: () => Promise.resolve() };
  checkDenoInternals();
  const limits = config.http;
  // Read per request: a reload may change whom the server trusts.
  const trusted = liveTrustedProxies(() => config.http.trustedProxies);
  // Requests in progress, counted as connections are (every request is "unauthenticated").
  const requests = new ConnectionLimiter({
    maxTotal: limits.maxRequests,
    maxPerIp: limits.maxRequestsPerIp,
    maxUnauthenticatedPerIp: limits.maxRequestsPerIp,
  });
  const refusalLog = new OncePerWindow();
  const errorLog = new OncePerWindow();
  /** Aborting it closes the listeners and every connection, WebSockets included. */
  const stopping = new AbortController();

  const noteRefusal = (address: string, limit: string) => {
    const silent = refusalLog.note(address);
    if (silent === undefined) return;
    log.warn(
      "refusing HTTP requests from {address}: {limit} reached; {silent} refused since the last " +
        "such line; quiet for this address for {window} s",
      { address, limit, silent, window: refusalLog.windowMs / 1000 },
    );
  };

  const dispatch = async (request: Request, peer: string, secureSocket: boolean) => {
    // Before anything is counted: a request we cannot read a URL from is refused here.
    const url = requestUrl(request);
    if (!url) return text(400, "Bad Request: invalid Host header", { connection: "close" });
    const origin = clientOrigin(peer, secureSocket, request.headers, trusted());
    // Per client (the limiter keys by addressKey: an IPv6 /64 is one subscriber's).
    const slot = requests.acquire(origin.address);
    if (typeof slot === "string") {
      noteRefusal(
        origin.address,
        slot === "total" ? "http.maxRequests" : "http.maxRequestsPerIp",
      );
      return slot === "total"
        ? text(503, "Service Unavailable")
        : text(429, "Too Many Requests", { "retry-after": "1" });
    }
    let held = false;
    try {
      const maxBody = routes.bodyLimit(url.pathname) ?? limits.maxBodyBytes;
      const deadline = routes.ownsBodyDeadline(url.pathname)
        ? undefined
        : limits.bodyTimeoutSeconds * 1000;
      const limited = limitBody(request, maxBody, deadline);
      if (limited === "too-large") return text(413, "Content Too Large", { connection: "close" });
      const handler = routes.find(url.pathname);
      if (!handler) return text(404, "Not Found");
      const response = await handler(limited, {
        remoteAddress: origin.address,
        secure: origin.secure,
        host: url.hostname.toLowerCase(),
        authority: url.host,
      });
      if (response.body === null || response.status === 101) return response;
      if (!routes.countsWhileStreaming(url.pathname)) return response;
      // The slot goes when the body is over: a download the client stops reading stays counted.
      held = true;
      const { status, statusText, headers } = response;
      return new Response(onBodyEnd(response.body, () => requests.release(slot)), {
        status,
        statusText,
        headers,
      });
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        return text(413, "Content Too Large", { connection: "close" });
      }
      if (err instanceof BodyTimedOut) return bodyTimedOut();
      const silent = errorLog.note(url.pathname);
      if (silent !== undefined) {
        log.error("HTTP handler for {path} failed: {err}; {silent} more since the last such line", {
          path: url.pathname,
          err,
          silent,
        });
      }
      return text(500, "Internal Server Error");
    } finally {
      if (!held) requests.release(slot);
    }
  };

  const onError = (err: unknown) => {
    if (errorLog.note("engine") !== undefined) log.warn("HTTP connection error: {err}", { err });
    return text(500, "Internal Server Error");
  };

  const servers: ListenerServer[] = [];
  try {
    for (
      const [name, settings, secure] of [["http", http, false], ["https", https, true]] as const
    ) {
      if (!settings.enabled) continue;
      const bound = bindHttpListener(name, settings, secure ? certs : undefined);
      ports[name] = (bound[0].addr as Deno.NetAddr).port;
      for (const listener of bound) {
        const server = serveListener(
          listener,
          stopping.signal,
          (request, info) => dispatch(request, (info.remoteAddr as Deno.NetAddr).hostname, secure),
          onError,
        );
        servers.push(server);
        server.finished.catch((err) => {
          if (!stopping.signal.aborted) log.error("{name} stopped serving: {err}", { name, err });
        });
      }
    }
  } catch (err) {
    // What was bound is served, and closed by the abort (bindHttpListener closes its own on failure).
    stopping.abort();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    ports,
    close() {
      closing ??= (async () => {
        stopping.abort();
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          Promise.allSettled(servers.map((s) => s.finished)),
          new Promise<void>((r) => timer = setTimeout(r, CLOSE_WAIT_MS)),
        ]);
        clearTimeout(timer);
      })();
      return closing;
    },
  };
}

/** 408 to a request whose body did not arrive in time (http.bodyTimeoutSeconds). */
function bodyTimedOut(): Response {
  return text(408, "Request Timeout: the body did not arrive in time", { connection: "close" });
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(`${body}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

/**
 * A host name, IPv4 address or bracketed IPv6 address, with an optional
 * port: what a Host header may hold (RFC 9110 §7.2, without the
 * percent-encoded and sub-delimiter forms no client sends).
 */
const VALID_HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/**
 * The request's URL, or undefined when its Host header is not a host.
 * Deno builds `request.url` by pasting the Host header in front of the
 * request target, so a Host holding "/", "?", "#" or "@" would move the
 * path a route is chosen by (`Host: x/metrics#` turns `GET /` into
 * `/metrics`, past a proxy that filters by path), and one the URL parser
 * rejects would throw. RFC 9110 §7.2 / RFC 9112 §3.2: answer 400.
 */
function requestUrl(request: Request): URL | undefined {
  const host = request.headers.get("host");
  // 253 for a DNS name, 6 for ":port".
  if (host !== null && (host.length > 259 || !VALID_HOST.test(host))) return undefined;
  try {
    return new URL(request.url);
  } catch {
    return undefined;
  }
}
