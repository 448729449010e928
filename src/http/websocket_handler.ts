/**
 * The HTTP end of XMPP over WebSocket (RFC 7395 §3.1): the route for
 * `/xmpp-websocket`. It checks the upgrade request (the `xmpp` subprotocol,
 * the Origin policy, the client connection caps), upgrades, and runs a
 * client stream (C2sStream) over a WebSocketTransport — the same stream
 * a TCP client gets.
 *
 * The HTTP server decides what `info` says: the peer's address (after any
 * trusted proxy) and whether the request came over HTTPS (or from a peer
 * it trusts to have used it).
 */
import type { Config } from "../config/schema.ts";
import type { Refusal } from "../net/connection_limiter.ts";
import { refusalReason } from "../net/refusal.ts";
import { OncePerWindow } from "../util/once_per_window.ts";
import { type C2sServices, C2sStream } from "../stream/c2s.ts";
import { WebSocketTransport } from "../stream/websocket/transport.ts";
import { logger } from "../log.ts";

const log = logger("c2s");

export interface WebSocketRequestInfo {
  /** The client's address, as the HTTP server normalized it (clientOrigin). */
  remoteAddress: string;
  /** HTTPS, or a peer trusted to have used it (a proxy terminating TLS, loopback). */
  secure: boolean;
}

export type WebSocketHandler = (req: Request, info: WebSocketRequestInfo) => Response;

/**
 * May a page from `origin` open a session on `host`? Clients that send no
 * Origin are not browsers (no other site's page can make them connect);
 * a page from the requested host is ours; anything else must be listed.
 */
function originAllowed(
  origin: string | null,
  host: string | null,
  allowed: readonly string[],
): boolean {
  if (origin === null) return true;
  if (allowed.includes("*") || allowed.includes(origin)) return true;
  if (host === null) return false;
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}

/** Whether the request offers the `xmpp` WebSocket subprotocol. */
function offersXmpp(req: Request): boolean {
  const header = req.headers.get("sec-websocket-protocol");
  return header !== null && header.split(",").some((p) => p.trim() === "xmpp");
}

function refuse(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(text + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

const REFUSAL_STATUS: Record<Refusal, number> = { total: 503, "per-ip": 429, unauthenticated: 429 };

export function websocketHandler(
  services: C2sServices,
  config: Config = services.config,
): WebSocketHandler {
  const allowed = config.websocket.allowedOrigins;
  const refusals = new OncePerWindow();
  return (req, info) => {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return refuse(426, "XMPP over WebSocket: upgrade to a WebSocket", { upgrade: "websocket" });
    }
    // RFC 7395 §3.1: without the subprotocol there is no XMPP session to accept.
    if (!offersXmpp(req)) return refuse(400, "The xmpp WebSocket subprotocol is required");
    const origin = req.headers.get("origin");
    if (!originAllowed(origin, req.headers.get("host"), allowed)) {
      log.debug("refused a WebSocket from origin {origin}", { origin });
      return refuse(403, "Origin not allowed");
    }
    const ip = info.remoteAddress;
    const limiter = services.limiter;
    const slot = limiter?.acquire(ip);
    if (typeof slot === "string") {
      const silent = refusals.note(ip);
      if (silent !== undefined) {
        log.warn(
          "refusing WebSocket sessions from {ip}: {reason}; {silent} refused since the " +
            "last such line; quiet for this address for {window} s",
          { ip, reason: refusalReason(slot), silent, window: refusals.windowMs / 1000 },
        );
      }
      return refuse(REFUSAL_STATUS[slot], refusalReason(slot), { "retry-after": "60" });
    }
    let upgraded: { socket: WebSocket; response: Response };
    try {
      upgraded = Deno.upgradeWebSocket(req, { protocol: "xmpp" });
    } catch (err) {
      if (slot) limiter!.release(slot);
      return refuse(400, "Bad WebSocket request: " + (err as Error).message);
    }
    const transport = new WebSocketTransport(upgraded.socket, {
      remoteAddress: ip,
      secure: info.secure,
      onAuthenticated: slot ? () => limiter!.authenticated(slot) : undefined,
      onClosed: slot ? () => limiter!.release(slot) : undefined,
    });
    try {
      new C2sStream(transport, services).start();
    } catch (err) {
      log.error("WebSocket session setup failed: {err}", { err });
      upgraded.socket.close(1011);
    }
    return upgraded.response;
  };
}
