/**
 * Connecting an outgoing s2s stream: resolve the remote domain's targets
 * (SRV, XEP-0368 direct TLS, s2s.hosts routes), try each address in turn
 * within a per-attempt limit, and open the TCP (or TLS) connection
 * presenting the local domain's certificate. What counts as "answered"
 * (the peer's first bytes) is the stream's business: it settles the
 * attempt through the callbacks given to `attemptAddress`.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { type Connection, SocketConnection, tlsStateOf } from "../../net/connection.ts";
import { connectionAttempts, type Resolver, resolveTargets, type Target } from "../resolve.ts";
import {
  DNS_ERRORS,
  FAILURE_PRECEDENCE,
  type FailureKind,
  formatSeconds,
  NegotiationError,
} from "./failure.ts";

export interface S2sConnectHooks {
  /** DNS (SRV and A/AAAA) instead of the system's: tests send no query off the machine. */
  resolver?: Resolver;
  /** Per-address attempt limit instead of `ATTEMPT_TIMEOUT_MS`. */
  attemptTimeoutMs?: number;
  /** The draw for RFC 2782 weighted ordering, in [0, 1). */
  random?: () => number;
}

/**
 * How long one address may take to accept TCP (and, for direct TLS, finish
 * the handshake) and then answer our stream header, before the next address
 * or SRV target is tried (RFC 6120 §3.2.1). Without it a host that accepts
 * TCP and then hangs would use all of s2s.connectTimeoutSeconds, and later
 * targets would never be tried. A few seconds is ample for a working server
 * across the world; the last candidate gets whatever remains of
 * s2s.connectTimeoutSeconds, since there is nothing left to move on to.
 */
export const ATTEMPT_TIMEOUT_MS = 5000;

export interface TargetWalk {
  remote: string;
  /** s2s.hosts: static routes that override DNS. */
  routes: Record<string, string>;
  resolver: Resolver;
  hooks: S2sConnectHooks;
  /** When s2s.connectTimeoutSeconds runs out (ms since the epoch). */
  deadline: number;
  /** What was tried and how it failed, appended to as it goes (for the log line). */
  tried: string[];
  /** The stream was closed meanwhile: stop trying. */
  closed(): boolean;
  /** The address being tried now (`undefined` once it failed), for the timeout's log line. */
  trying(label: string | undefined): void;
  /** Try one address within `ms`; resolves once the peer answered. */
  attempt(target: Target, address: string, ms: number): Promise<void>;
  /** One address failed: for the debug log. */
  failed(label: string, error: Error): void;
}

/**
 * Try the remote domain's addresses in order until one answers. Throws a
 * NegotiationError naming the most telling failure when none does.
 */
export async function walkTargets(walk: TargetWalk): Promise<void> {
  const { hooks, deadline } = walk;
  const perAttempt = hooks.attemptTimeoutMs ?? ATTEMPT_TIMEOUT_MS;
  const targets = await resolveTargets(walk.remote, walk.routes, walk.resolver.srv, hooks.random);
  if (targets.length === 0) {
    throw new NegotiationError(
      "dns",
      `DNS says ${walk.remote} offers no XMPP server-to-server service`,
    );
  }
  const errors = walk.tried;
  const kinds = new Set<FailureKind>();
  // A target's A/AAAA lookup gets the same share of the time as a connection attempt.
  const lookupLimit = (last: boolean) => {
    const left = deadline - Date.now();
    return last ? left : Math.min(perAttempt, left);
  };
  for await (const attempt of connectionAttempts(targets, walk.resolver.addresses, lookupLimit)) {
    if (walk.closed()) return;
    const { target } = attempt;
    const where = `${target.directTls ? "tls://" : ""}${target.host}:${target.port}`;
    if ("error" in attempt) {
      errors.push(`${where}: ${attempt.error.message}`);
      const code = (attempt.error as { code?: string }).code ?? "";
      kinds.add(DNS_ERRORS.has(code) || !code ? "dns" : "connect");
      continue;
    }
    const label = attempt.address === target.host ? where : `${where} (${attempt.address})`;
    const left = deadline - Date.now();
    if (left <= 0) return; // the stream's own timer is about to report the timeout
    const ms = attempt.last ? left : Math.min(perAttempt, left);
    walk.trying(label);
    try {
      await walk.attempt(target, attempt.address, ms);
      return;
    } catch (err) {
      walk.trying(undefined);
      if (walk.closed()) return;
      errors.push(`${label}: ${(err as Error).message}`);
      kinds.add(err instanceof NegotiationError ? err.kind : "connect");
      walk.failed(label, err as Error);
    }
  }
  // The most telling cause: a TLS failure, a silent host or one that hung up means it was
  // reachable; DNS only if nothing resolved.
  const kind = FAILURE_PRECEDENCE.find((k) => kinds.has(k)) ?? "connect";
  throw new NegotiationError(kind, `cannot connect (tried ${errors.join("; ")})`);
}

/** How one attempt talks to the stream that owns it. */
export interface AttemptHooks {
  /** Open the connection (see `openConnection`). */
  open(): { promise: Promise<Connection>; cancel(): void };
  /** Connected: the stream takes it and calls `answered` on the peer's first data (or failure). */
  opened(conn: Connection, answered: (err?: Error) => void): void;
  /** Given up (failure or silence): the stream forgets `conn` before it is closed. */
  abandoned(conn: Connection | undefined): void;
  /** While the attempt runs, how to end it early (the stream closed); cleared when settled. */
  abortWith(abort: (() => void) | undefined): void;
}

/**
 * Connect to one address and send our stream header; done when the peer
 * answers with any data (its header), within `ms`. Until then a failure or
 * silence only ends this attempt: the connection is dropped and the stream
 * is as before, ready for the next address.
 */
export function attemptAddress(ms: number, hooks: AttemptHooks): Promise<void> {
  return new Promise((resolve, reject) => {
    let conn: Connection | undefined;
    let settled = false;
    const end = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      hooks.abortWith(undefined);
      if (!err) return resolve();
      // Forget this connection before closing it: its close callback then finds it stale.
      hooks.abandoned(conn);
      conn?.close();
      opening.cancel();
      reject(err);
    };
    const timer = setTimeout(
      () => end(new NegotiationError("timeout", `no answer within ${formatSeconds(ms)}`)),
      ms,
    );
    hooks.abortWith(() => end(new NegotiationError("shutdown", "stream closed")));
    const opening = hooks.open();
    opening.promise.then((opened) => {
      if (settled) return opened.close();
      conn = opened;
      hooks.opened(opened, end);
    }, (err) => end(err as Error));
  });
}

/** Our side of the connection: the certificate of the local domain, the name we expect. */
export interface ConnectIdentity {
  remote: string;
  certPem: string;
  keyPem: string;
}

/** Open TCP (or direct TLS, XEP-0368) to `address`; `cancel` drops a socket not yet open. */
export function openConnection(
  target: Target,
  address: string,
  id: ConnectIdentity,
): { promise: Promise<Connection>; cancel(): void } {
  let socket: net.Socket | undefined;
  let opened = false;
  const promise = new Promise<Connection>((resolve, reject) => {
    let connected = false;
    const onError = (err: Error) => {
      const code = (err as { code?: string }).code ?? "";
      const kind = connected ? "tls" : DNS_ERRORS.has(code) ? "dns" : "connect";
      reject(new NegotiationError(kind, err.message));
    };
    if (target.directTls) {
      const secure = tls.connect({
        host: address,
        port: target.port,
        servername: id.remote,
        ALPNProtocols: ["xmpp-server"],
        rejectUnauthorized: false,
        cert: id.certPem,
        key: id.keyPem,
      });
      socket = secure;
      secure.once("error", onError);
      secure.once("connect", () => connected = true);
      secure.once("secureConnect", () => {
        secure.off("error", onError);
        opened = true;
        resolve(new SocketConnection(secure, tlsStateOf(secure)));
      });
    } else {
      const plain = net.connect({ host: address, port: target.port });
      socket = plain;
      plain.once("error", onError);
      plain.once("connect", () => {
        plain.off("error", onError);
        opened = true;
        resolve(new SocketConnection(plain));
      });
    }
  });
  // Given up before it connected (or finished the TLS handshake): no socket may linger.
  // Once open, the Connection owns the socket.
  return {
    promise,
    cancel: () => {
      if (!opened) socket?.destroy();
    },
  };
}
