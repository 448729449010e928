/**
 * A `Connection` that is no socket: every write goes to `write`. For
 * in-process tests and benches of the router, delivery and outbox.
 */
import type { Connection } from "../../src/net/connection.ts";

export function stubConnection(
  write: (data: string) => void,
  { localPort = 1, tls = undefined as { protocol: string } | undefined } = {},
): Connection {
  return {
    remoteAddress: "127.0.0.1",
    remotePort: 1,
    localPort,
    tls,
    closed: false,
    start() {},
    write,
    written: 0,
    pending: 0,
    writable: () => Promise.resolve(),
    authenticated() {},
    pause() {},
    resume() {},
    startTls: () => Promise.resolve(),
    close() {},
  } as Connection;
}
