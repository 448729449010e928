/**
 * TCP and direct-TLS listeners on `node:net` / `node:tls`: the only Deno
 * path with server-side STARTTLS, SNI and `setNoDelay` (see design.md).
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { normalizeAddress, SocketConnection, tlsStateOf } from "./connection.ts";
import type { Connection, ServerTlsOptions } from "./connection.ts";
import type { ConnectionLimiter, Refusal, Slot } from "./connection_limiter.ts";
import { OncePerWindow } from "../util/once_per_window.ts";
import { refusalCondition, refusalReason, refusalStream } from "./refusal.ts";
import { logger } from "../log.ts";
import { ListenError } from "./listen_error.ts";

const log = logger("net");

/** Longest a closing listener waits for ending connections (they are cut at 2 s anyway). */
const ENDING_WAIT_MS = 3000;

export interface ListenOptions {
  /** For logs and errors: the listener's key under `listeners` in the config. */
  name: string;
  interfaces: string[];
  port: number;
  /** Set for direct TLS (XEP-0368). */
  tls?: ServerTlsOptions;
  limiter: ConnectionLimiter;
  /** The stream namespace a refused connection's stream error is written in (`jabber:client`…). */
  streamNamespace: string;
  /** Shared by the listeners of one family, so an address is logged once for all of them. */
  refusalLog?: OncePerWindow;
  onConnection(conn: Connection): void;
  /** Direct TLS: milliseconds a client may take to finish its handshake (default 30 s). */
  handshakeTimeoutMs?: number;
}

export interface Listener {
  /** Bound address → port (port 0 in the config picks one per interface). */
  readonly addresses: { address: string; port: number }[];
  close(): Promise<void>;
}

/**
 * How long a refused connection may take to receive its stream error
 * (and, on a direct-TLS port, to finish the handshake it needs first)
 * before it is cut.
 */
const REFUSAL_GRACE_MS = 2000;

/**
 * Refused sockets waiting out their grace, per listener, past which more
 * are cut at once without a stream error: a flood of connections must not
 * turn the grace into a way to hold file descriptors.
 */
const MAX_REFUSING = 256;

export async function listen(options: ListenOptions): Promise<Listener> {
  const servers: net.Server[] = [];
  const addresses: { address: string; port: number }[] = [];
  const sockets = new Set<net.Socket>();
  // "::" first: on Deno it is a dual-stack socket, and the IPv4 wildcard
  // after it is then skipped below (bound first, it would shut IPv6 out).
  const interfaces = [...options.interfaces].sort((a, b) =>
    (b === "::" ? 1 : 0) - (a === "::" ? 1 : 0)
  );
  const refusalLog = options.refusalLog ?? new OncePerWindow();
  /** Admitted sockets' slots (the raw socket's, for direct TLS). */
  const slots = new WeakMap<net.Socket, Slot>();
  /** Refused sockets waiting for their stream error (direct TLS: for the handshake first). */
  const refused = new WeakMap<net.Socket, Refusal>();
  let refusing = 0;
  /**
   * Counts the TCP connection against the limits, or refuses it. For
   * direct TLS this runs on the raw socket, before the handshake: a client
   * that never finishes one must still use up its share (the slot is freed
   * when the TCP connection closes).
   */
  const admit = (socket: net.Socket): boolean => {
    const ip = normalizeAddress(socket.remoteAddress ?? "");
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    const slot = options.limiter.acquire(ip);
    if (typeof slot === "string") {
      const silent = refusalLog.note(ip);
      if (silent !== undefined) {
        log.warn(
          "{listener}: refusing connections from {ip}: {condition} ({reason}); " +
            "{silent} refused since the last such line; quiet for this address for {window} s",
          {
            listener: options.name,
            ip,
            condition: refusalCondition(slot),
            reason: refusalReason(slot),
            silent,
            window: refusalLog.windowMs / 1000,
          },
        );
      }
      if (refusing >= MAX_REFUSING) {
        socket.destroy();
        return false;
      }
      refused.set(socket, slot);
      refusing++;
      // A refused peer may not hold the socket: cut it after a short grace.
      const cut = setTimeout(() => socket.destroy(), REFUSAL_GRACE_MS);
      socket.once("close", () => {
        clearTimeout(cut);
        refusing--;
      });
      if (!options.tls) refuse(socket, slot);
      return false;
    }
    slots.set(socket, slot);
    socket.once("close", () => options.limiter.release(slot));
    return true;
  };
  const refuse = (socket: net.Socket, refusal: Refusal) => {
    socket.on("error", () => {});
    socket.end(refusalStream(options.streamNamespace, refusal));
  };
  // Direct TLS: raw sockets by peer address and port, so the secured socket
  // takes the raw one's place in `sockets` (close() must see whether the
  // TLS layer is ending; the raw socket under it never says so).
  const handshaking = new Map<string, net.Socket>();
  const peerKey = (s: net.Socket) => `${s.remoteAddress}|${s.remotePort}`;
  /** The connection over each started socket, for close(). */
  const connections = new WeakMap<net.Socket, SocketConnection>();
  const start = (socket: net.Socket, slot: Slot) => {
    const conn = new SocketConnection(
      socket,
      options.tls ? tlsStateOf(socket as tls.TLSSocket) : undefined,
      { onAuthenticated: () => options.limiter.authenticated(slot) },
    );
    connections.set(socket, conn);
    try {
      options.onConnection(conn);
    } catch (err) {
      log.error("{listener}: connection setup failed: {err}", { listener: options.name, err });
      socket.destroy();
    }
  };
  for (const address of interfaces) {
    const server = options.tls
      ? tls.createServer({
        secureContext: options.tls.secureContext,
        SNICallback: options.tls.SNICallback,
        ALPNProtocols: options.tls.ALPNProtocols,
        requestCert: options.tls.requestCert,
        rejectUnauthorized: false,
        // A client that never finishes its handshake must not hold a slot forever.
        handshakeTimeout: options.handshakeTimeoutMs ?? 30_000,
      })
      : net.createServer();
    if (options.tls) {
      server.on("connection", (raw: net.Socket) => {
        admit(raw);
        const key = peerKey(raw);
        handshaking.set(key, raw);
        raw.once("close", () => {
          if (handshaking.get(key) === raw) handshaking.delete(key);
        });
      });
      server.on("secureConnection", (socket: tls.TLSSocket) => {
        const key = peerKey(socket);
        const raw = handshaking.get(key);
        handshaking.delete(key);
        if (raw) {
          sockets.delete(raw);
          sockets.add(socket);
          raw.once("close", () => sockets.delete(socket));
        }
        const refusal = raw && refused.get(raw);
        if (refusal) return refuse(socket, refusal);
        const slot = raw && slots.get(raw);
        if (!slot) return socket.destroy();
        start(socket, slot);
      });
    } else {
      server.on("connection", (socket: net.Socket) => {
        if (admit(socket)) start(socket, slots.get(socket)!);
      });
    }
    server.on("tlsClientError", (err: Error, socket: net.Socket) => {
      log.debug("{listener}: TLS handshake failed from {ip}: {err}", {
        listener: options.name,
        ip: socket.remoteAddress,
        err: err.message,
      });
      // Measured on Deno 2.9: after a handshake timeout the socket stays
      // open (and keeps its per-IP slot) unless destroyed here.
      socket.destroy();
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
      throw new ListenError(options.name, address, options.port, err.code, err);
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
      // Connections already ending are flushing their last words (a stream
      // error); they close themselves (SocketConnection destroys a socket
      // its peer does not close within 2 s). Anything else is cut now. After
      // STARTTLS the socket here is the raw one, which never says it is
      // ending: its connection does.
      const ending: Promise<void>[] = [];
      for (const s of sockets) {
        const conn = connections.get(s);
        if (conn?.closed) ending.push(conn.gone);
        else if (s.writableEnded) ending.push(new Promise((r) => s.once("close", () => r())));
        else s.destroy();
      }
      // The process may exit right after: wait (bounded) for those flushes.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(ending),
        new Promise<void>((r) => timer = setTimeout(r, ENDING_WAIT_MS)),
      ]);
      clearTimeout(timer);
      await Promise.all(closed);
    },
  };
}
