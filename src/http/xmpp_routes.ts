/**
 * The XMPP transports the HTTP server carries: WebSocket (RFC 7395) at
 * /xmpp-websocket, when `http.websocket` is on.
 *
 * Whether such a stream counts as encrypted (what "TLS required before
 * authentication" checks): HTTPS to us, HTTPS to a trusted reverse proxy
 * (X-Forwarded-Proto), or a loopback client — the plain listener is bound
 * to loopback by default precisely so that a proxy on the same machine
 * terminates TLS in front of it; a client that reaches it directly never
 * left the machine.
 */
import type { Config } from "../config/schema.ts";
import type { C2sServices } from "../stream/c2s.ts";
import type { HttpRequestInfo, HttpRoutes } from "./routes.ts";
import { WEBSOCKET_PATH } from "./host_meta.ts";
import { websocketHandler } from "./websocket_handler.ts";

export function isLoopback(address: string): boolean {
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

export function streamIsSecure(info: HttpRequestInfo): boolean {
  return info.secure || isLoopback(info.remoteAddress);
}

export function addXmppRoutes(routes: HttpRoutes, config: Config, c2s: C2sServices): void {
  if (config.http.websocket) {
    const handle = websocketHandler(c2s, config);
    routes.add(
      WEBSOCKET_PATH,
      (req, info) =>
        handle(req, { remoteAddress: info.remoteAddress, secure: streamIsSecure(info) }),
    );
  }
}
