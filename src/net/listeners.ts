/**
 * TCP and direct-TLS listeners on `node:net` / `node:tls`: the only Deno
 * path with server-side STARTTLS, SNI and `setNoDelay` (see design.md).
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { normalizeAddress, SocketConnection, tlsStateOf } from "./connection.ts";
import type { Connection, ServerTlsOptions } from "./connection.ts";
import { logger } from "../log.ts";

const log = logger("net");

export interface ListenOptions {
  name: string;
  interfaces: string[];
  port: number;
  /** Set for direct TLS (XEP-0368). */
  tls?: ServerTlsOptions;
  limiter: ConnectionLimiter;
  onConnection(conn: Connection): void;
}

export interface Listener {
  /** Bound address → port (port 0 in the config picks one per interface). */
  readonly addresses: { address: string; port: number }[];
  close(): Promise<void>;
}

/** Counts open connections per IP and refuses those over the limit. */
export class ConnectionLimiter {
  #counts = new Map<string, number>();
  constructor(readonly maxPerIp: number) {}

  /** False when the address already holds its share; the caller drops the socket. */
  acquire(ip: string): boolean {
    const n = this.#counts.get(ip) ?? 0;
    if (n >= this.maxPerIp) return false;
    this.#counts.set(ip, n + 1);
    return true;
  }

  release(ip: string): void {
    const n = this.#counts.get(ip) ?? 0;
    if (n <= 1) this.#counts.delete(ip);
    else this.#counts.set(ip, n - 1);
  }

  count(ip: string): number {
    return this.#counts.get(ip) ?? 0;
  }
}

export async function listen(options: ListenOptions): Promise<Listener> {
  const servers: net.Server[] = [];
  const addresses: { address: string; port: number }[] = [];
  const sockets = new Set<net.Socket>();
  // "::" first: on Deno it is a dual-stack socket, and the IPv4 wildcard
  // after it is then skipped below (bound first, it would shut IPv6 out).
  const interfaces = [...options.interfaces].sort((a, b) =>
    (b === "::" ? 1 : 0) - (a === "::" ? 1 : 0)
  );
  for (const address of interfaces) {
    const server = options.tls
      ? tls.createServer({
        secureContext: options.tls.secureContext,
        SNICallback: options.tls.SNICallback,
        ALPNProtocols: options.tls.ALPNProtocols,
        requestCert: options.tls.requestCert,
        rejectUnauthorized: false,
        // A client that never finishes its handshake must not hold a slot forever.
        handshakeTimeout: 30_000,
      })
      : net.createServer();
    const event = options.tls ? "secureConnection" : "connection";
    server.on(event, (socket: net.Socket) => {
      const ip = normalizeAddress(socket.remoteAddress ?? "");
      if (!options.limiter.acquire(ip)) {
        log.warn("{listener}: refusing connection from {ip}: too many connections", {
          listener: options.name,
          ip,
        });
        socket.destroy();
        return;
      }
      sockets.add(socket);
      socket.once("close", () => {
        sockets.delete(socket);
        options.limiter.release(ip);
      });
      const conn = new SocketConnection(
        socket,
        options.tls ? tlsStateOf(socket as tls.TLSSocket) : undefined,
      );
      try {
        options.onConnection(conn);
      } catch (err) {
        log.error("{listener}: connection setup failed: {err}", { listener: options.name, err });
        socket.destroy();
      }
    });
    server.on("tlsClientError", (err: Error, socket: net.Socket) => {
      log.debug("{listener}: TLS handshake failed from {ip}: {err}", {
        listener: options.name,
        ip: socket.remoteAddress,
        err: err.message,
      });
    });
    const bound = await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: address, port: options.port, backlog: 1024 }, () => {
        server.off("error", reject);
        resolve();
      });
    }).then(() => true, (err) => {
      // Deno ignores `ipv6Only`: a "::" socket is dual-stack (the Linux
      // default) and collides with the IPv4 wildcard on the same port,
      // while already serving both families.
      const other = address === "::" ? "0.0.0.0" : address === "0.0.0.0" ? "::" : undefined;
      if (err.code === "EADDRINUSE" && other && addresses.some((a) => a.address === other)) {
        log.debug("{listener}: [{address}] is served by the dual-stack wildcard socket", {
          listener: options.name,
          address,
        });
        return false;
      }
      for (const s of servers) s.close();
      throw new Error(
        `${options.name}: cannot listen on [${address}]:${options.port}: ${err.message}`,
      );
    });
    if (!bound) continue;
    const info = server.address() as net.AddressInfo;
    addresses.push({ address, port: info.port });
    servers.push(server);
    log.info("{listener} listening on [{address}]:{port}", {
      listener: options.name,
      address,
      port: info.port,
    });
  }
  return {
    addresses,
    async close() {
      const closed = servers.map((s) => new Promise<void>((r) => s.close(() => r())));
      // Sockets already ending are flushing their last words (a stream
      // error); they close themselves. Anything else is cut now.
      for (const s of sockets) if (!s.writableEnded) s.destroy();
      await Promise.all(closed);
    },
  };
}
