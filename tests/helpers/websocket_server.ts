/**
 * Serves `/xmpp-websocket` for a test server over its own `Deno.serve` on
 * 127.0.0.1 (port 0), until the HTTP server of the project routes it.
 * Loopback peers count as secure, as on the plain HTTP listener (which is
 * meant to sit behind a TLS-terminating proxy), unless `secure` says otherwise.
 */
import type { TestServer } from "./server.ts";
import { WEBSOCKET_PATH, websocketHandler } from "../../src/http/websocket_handler.ts";

export interface WsEndpoint {
  url: string;
  close(): Promise<void>;
}

export function serveWebSocket(server: TestServer, secure = true): WsEndpoint {
  const handle = websocketHandler(server.c2s, server.config);
  const http = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (req, info) => {
      if (new URL(req.url).pathname !== WEBSOCKET_PATH) return new Response("", { status: 404 });
      return handle(req, { remoteAddress: info.remoteAddr.hostname, secure });
    },
  );
  return {
    url: `ws://127.0.0.1:${http.addr.port}${WEBSOCKET_PATH}`,
    async close() {
      await http.shutdown();
    },
  };
}
