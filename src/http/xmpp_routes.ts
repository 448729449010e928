/**
 * The XMPP transports the HTTP server carries: WebSocket (RFC 7395) at
 * /xmpp-websocket when `http.websocket` is on, BOSH (XEP-0206) at
 * /http-bind when `http.bosh` is.
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
import { isLoopback } from "./client_address.ts";
import { BOSH_PATH, WEBSOCKET_PATH } from "./host_meta.ts";
import { websocketHandler } from "./websocket_handler.ts";
import { type BoshHandler, boshHandler } from "./bosh/handler.ts";

function streamIsSecure(info: HttpRequestInfo): boolean {
  return info.secure || isLoopback(info.remoteAddress);
}

export interface XmppRoutes {
  /** The BOSH endpoint, when served (its session table, for tests and the status page). */
  readonly bosh?: BoshHandler;
  /**
   * Shutdown: end the BOSH sessions and answer the requests they hold
   * (else the HTTP server waits up to `wait` seconds for each).
   */
  close(): void;
}

export function addXmppRoutes(routes: HttpRoutes, config: Config, c2s: C2sServices): XmppRoutes {
  const peer = (info: HttpRequestInfo) => ({
    remoteAddress: info.remoteAddress,
    secure: streamIsSecure(info),
  });
  if (config.http.websocket) {
    const handle = websocketHandler(c2s, config);
    routes.add(WEBSOCKET_PATH, (req, info) => handle(req, peer(info)));
  }
  if (!config.http.bosh) return { close() {} };
  const bosh = boshHandler(c2s, config);
  routes.add(BOSH_PATH, (req, info) => bosh(req, peer(info)));
  return { bosh, close: () => bosh.close() };
}
