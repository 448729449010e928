/**
 * A Parley serving XMPP over WebSocket beside its TCP listeners, for
 * bench/ws_idle_rss.ts (main.ts does not serve WebSocket until the HTTP
 * server routes it). Memory storage, insecure auth (any password), the
 * per-IP caps lifted: every client comes from 127.0.0.1. Prints one JSON
 * line with the ports, then serves until killed.
 */
import { configSchema } from "../src/config/schema.ts";
import { startServer } from "../src/server.ts";
import { MemoryStorage } from "../src/storage/memory.ts";
import { WEBSOCKET_PATH } from "../src/http/host_meta.ts";
import { websocketHandler } from "../src/http/websocket_handler.ts";

const local = { interfaces: ["127.0.0.1"], port: 0 };
const config = configSchema.parse({
  hosts: ["localhost"],
  dataDir: await Deno.makeTempDir({ prefix: "parley-ws-bench-" }),
  listeners: { c2s: local, c2sDirectTls: local, s2s: { enabled: false } },
  storage: { driver: "memory" },
  auth: { provider: "insecure" },
  s2s: { enabled: false },
  c2s: { maxConnectionsPerIp: 100000, maxUnauthenticatedPerIp: 100000, maxConnections: 100000 },
  log: { level: "warning" },
});
const server = await startServer(config, { storage: new MemoryStorage() });
const handle = websocketHandler(server.c2s);
const http = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (req, info) => {
  if (new URL(req.url).pathname !== WEBSOCKET_PATH) return new Response("", { status: 404 });
  // A loopback peer: secure, as behind the plain HTTP listener's reverse proxy.
  return handle(req, { remoteAddress: info.remoteAddr.hostname, secure: true });
});
console.log(JSON.stringify({ c2s: server.ports.c2s, ws: http.addr.port }));
