/**
 * The HTTP server: plain HTTP (for a reverse proxy in front) and HTTPS
 * with each host's certificate chosen by SNI. Requests go through the
 * limits (connections and requests in progress per address, body size)
 * to the route table; see deno_internals.ts for why this accepts
 * connections itself instead of calling Deno.serve.
 */
import type { Config } from "../config/schema.ts";
import type { CertStore } from "../tls/certs.ts";
import { normalizeAddress } from "../net/connection.ts";
import { OncePerWindow } from "../util/once_per_window.ts";
import { logger } from "../log.ts";
import { clientOrigin, TrustedProxies } from "./client_address.ts";
import { BodyTooLarge, KeyedCounter, limitBody } from "./limits.ts";
import type { HttpRoutes } from "./routes.ts";
import { checkDenoInternals, type ConnectionServer, serveConnection } from "./deno_internals.ts";
import { bindHttpListener } from "./bind.ts";

const log = logger("http");

/** Refused connections answered with 503 at once; past this many more are closed unanswered. */
const MAX_REFUSING = 256;
/** How long a refused connection may take to read its 503. */
const REFUSAL_GRACE_MS = 2000;
/** Longest close() waits for connections to finish their responses. */
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
  const trusted = new TrustedProxies(limits.trustedProxies);
  const connections = new KeyedCounter(limits.maxConnections, limits.maxConnectionsPerIp);
  const requests = new KeyedCounter(limits.maxConnections, limits.maxRequestsPerIp);
  const refusalLog = new OncePerWindow();
  const errorLog = new OncePerWindow();
  let stopping = false;
  /** Open connections, each with its own abort (one shared signal would keep a listener per connection ever served). */
  const live = new Map<ConnectionServer, AbortController>();
  let refusing = 0;

  const noteRefusal = (what: string, address: string, why: string) => {
    const silent = refusalLog.note(`${what}|${address}`);
    if (silent === undefined) return;
    log.warn(
      "refusing HTTP {what} from {address}: {why}; {silent} refused since the last such line; " +
        "quiet for this address for {window} s",
      { what, address, why, silent, window: refusalLog.windowMs / 1000 },
    );
  };

  const dispatch = async (request: Request, peer: string, secureSocket: boolean) => {
    const origin = clientOrigin(peer, secureSocket, request.headers, trusted);
    const refused = requests.acquire(origin.address);
    if (refused) {
      noteRefusal("requests", origin.address, `too many requests in progress (${refused})`);
      return refused === "total"
        ? text(503, "Service Unavailable")
        : text(429, "Too Many Requests", { "retry-after": "1" });
    }
    const url = new URL(request.url);
    try {
      const limited = limitBody(request, limits.maxBodyBytes);
      if (limited === "too-large") return text(413, "Content Too Large", { connection: "close" });
      const handler = routes.find(url.pathname);
      if (!handler) return text(404, "Not Found");
      return await handler(limited, {
        remoteAddress: origin.address,
        secure: origin.secure,
        host: url.hostname.toLowerCase(),
        authority: url.host,
      });
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        return text(413, "Content Too Large", { connection: "close" });
      }
      const silent = errorLog.note(url.pathname);
      if (silent !== undefined) {
        log.error(
          "HTTP handler for {path} failed: {err}; {silent} failures since the last such line",
          {
            path: url.pathname,
            err,
            silent,
          },
        );
      }
      return text(500, "Internal Server Error");
    } finally {
      requests.release(origin.address);
    }
  };

  const onError = (err: unknown) => {
    if (errorLog.note("engine") !== undefined) log.warn("HTTP connection error: {err}", { err });
    return text(500, "Internal Server Error");
  };

  const refuse = (conn: Deno.Conn) => {
    if (refusing >= MAX_REFUSING) return conn.close();
    refusing++;
    const grace = new AbortController();
    const server = serveConnection(
      conn,
      grace.signal,
      () => text(503, "Service Unavailable", { connection: "close" }),
      onError,
    );
    const cut = setTimeout(() => abort(grace), REFUSAL_GRACE_MS);
    server.finished.catch(() => {}).finally(() => {
      clearTimeout(cut);
      refusing--;
    });
  };

  const accept = (conn: Deno.Conn, secure: boolean) => {
    const peer = normalizeAddress((conn.remoteAddr as Deno.NetAddr).hostname);
    // Behind a proxy every connection comes from the proxy: it is not capped per address.
    const refused = connections.acquire(peer, trusted.has(peer));
    if (refused) {
      noteRefusal("connections", peer, `too many connections (${refused})`);
      return refuse(conn);
    }
    try {
      const cut = new AbortController();
      const server = serveConnection(
        conn,
        cut.signal,
        (request) => dispatch(request, peer, secure),
        onError,
      );
      live.set(server, cut);
      // Rejects when the peer vanishes mid-response: nothing to do about that.
      server.finished.catch(() => {}).finally(() => {
        live.delete(server);
        connections.release(peer);
      });
    } catch (err) {
      connections.release(peer);
      log.error("HTTP connection setup failed: {err}", { err });
      conn.close();
    }
  };

  const listeners: Deno.Listener[] = [];
  const accepting: Promise<void>[] = [];
  try {
    for (
      const [name, settings, secure] of [["http", http, false], ["https", https, true]] as const
    ) {
      if (!settings.enabled) continue;
      const bound = bindHttpListener(name, settings, secure ? certs : undefined);
      listeners.push(...bound);
      ports[name] = (bound[0].addr as Deno.NetAddr).port;
      for (const listener of bound) {
        accepting.push((async () => {
          try {
            for await (const conn of listener) accept(conn, secure);
          } catch (err) {
            if (!stopping) log.error("{name} stopped accepting: {err}", { name, err });
          }
        })());
      }
    }
  } catch (err) {
    for (const l of listeners) l.close();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    ports,
    close() {
      closing ??= (async () => {
        stopping = true;
        for (const cut of live.values()) abort(cut);
        for (const l of listeners) {
          try {
            l.close();
          } catch { /* already closed */ }
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          Promise.allSettled([...accepting, ...[...live.keys()].map((s) => s.finished)]),
          new Promise<void>((r) => timer = setTimeout(r, CLOSE_WAIT_MS)),
        ]);
        clearTimeout(timer);
      })();
      return closing;
    },
  };
}

/** Deno's engine closes the connection on abort; once it has closed, abort throws BadResource. */
function abort(controller: AbortController): void {
  try {
    controller.abort();
  } catch { /* already closed */ }
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(`${body}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}
