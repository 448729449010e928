/**
 * The HTTP route table other parts register into (WebSocket at
 * /xmpp-websocket, BOSH at /http-bind, host-meta; later upload, status,
 * metrics). A route is an exact path, or a prefix ending in "/" that
 * matches everything under it; the longest match wins.
 */

export interface HttpRequestInfo {
  /** The client's address: the TCP peer's, or X-Forwarded-For's from a trusted proxy. */
  remoteAddress: string;
  /** Whether the client connected over TLS (X-Forwarded-Proto from a trusted proxy). */
  secure: boolean;
  /** The Host header's name, lowercased, without port (empty when absent). */
  host: string;
  /** The Host header as sent, port included (what a URL back to us is built from). */
  authority: string;
}

/**
 * Handles one request. `Deno.upgradeWebSocket(request)` works here: the
 * request is the one Deno received whenever it has no body (a GET).
 */
export type HttpHandler = (
  request: Request,
  info: HttpRequestInfo,
) => Response | Promise<Response>;

export interface RouteOptions {
  /**
   * Largest request body for this route, instead of `http.maxBodyBytes`
   * (uploads: the handler streams the body and bounds it itself).
   */
  maxBodyBytes?: number;
  /**
   * The request counts as in progress (http.maxRequests, maxRequestsPerIp)
   * until its response body is sent or dropped, not only until the handler
   * returns: for routes with large bodies (downloads) a client may take
   * slowly or never.
   */
  countWhileStreaming?: boolean;
  /**
   * The handler bounds how long its body may take to arrive (uploads, by
   * size); otherwise the server gives every body `http.bodyTimeoutSeconds`.
   */
  ownBodyDeadline?: boolean;
}

export class HttpRoutes {
  #exact = new Map<string, HttpHandler>();
  #bodyLimits = new Map<string, number>();
  #streaming = new Set<string>();
  #ownDeadline = new Set<string>();
  /** Prefix routes, longest first. */
  #prefixes: { prefix: string; handler: HttpHandler }[] = [];

  /** Register `handler` for `path` (exact) or, when it ends in "/", everything under it. */
  add(path: string, handler: HttpHandler, options: RouteOptions = {}): void {
    if (!path.startsWith("/")) throw new Error(`HTTP route must start with "/": ${path}`);
    const prefix = path.endsWith("/") && path !== "/";
    const taken = prefix ? this.#prefixes.some((p) => p.prefix === path) : this.#exact.has(path);
    if (taken) throw new Error(`HTTP route ${path} is already registered`);
    if (prefix) {
      this.#prefixes.push({ prefix: path, handler });
      this.#prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
    } else {
      this.#exact.set(path, handler);
    }
    if (options.maxBodyBytes !== undefined) this.#bodyLimits.set(path, options.maxBodyBytes);
    if (options.countWhileStreaming) this.#streaming.add(path);
    if (options.ownBodyDeadline) this.#ownDeadline.add(path);
  }

  /** Whether the route `pathname` goes to bounds its body's arrival itself. */
  ownsBodyDeadline(pathname: string): boolean {
    if (this.#ownDeadline.size === 0) return false;
    return this.#ownDeadline.has(this.#route(pathname) ?? "");
  }

  /** The path a route was registered under that `pathname` goes to. */
  #route(pathname: string): string | undefined {
    if (this.#exact.has(pathname)) return pathname;
    return this.#prefixes.find((p) => pathname.startsWith(p.prefix))?.prefix;
  }

  /** Whether the route `pathname` goes to counts its requests until their bodies end. */
  countsWhileStreaming(pathname: string): boolean {
    if (this.#streaming.size === 0) return false;
    if (this.#exact.has(pathname)) return this.#streaming.has(pathname);
    const prefix = this.#prefixes.find((p) => pathname.startsWith(p.prefix))?.prefix;
    return prefix !== undefined && this.#streaming.has(prefix);
  }

  /** The body limit of the route `pathname` goes to, when it has its own. */
  bodyLimit(pathname: string): number | undefined {
    if (this.#exact.has(pathname)) return this.#bodyLimits.get(pathname);
    const prefix = this.#prefixes.find((p) => pathname.startsWith(p.prefix))?.prefix;
    return prefix === undefined ? undefined : this.#bodyLimits.get(prefix);
  }

  find(pathname: string): HttpHandler | undefined {
    return this.#exact.get(pathname) ??
      this.#prefixes.find((p) => pathname.startsWith(p.prefix))?.handler;
  }
}
