/**
 * The WebSocket endpoint of a test server: its plain HTTP listener on
 * 127.0.0.1 (a loopback client counts as secure there, as behind a
 * TLS-terminating proxy on the same machine).
 */
import type { TestServer } from "./server.ts";
import { WEBSOCKET_PATH } from "../../src/http/host_meta.ts";

export function wsUrl(server: TestServer): string {
  return `ws://127.0.0.1:${server.ports.http}${WEBSOCKET_PATH}`;
}
