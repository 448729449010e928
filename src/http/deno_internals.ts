/**
 * The undocumented Deno 2.9 hooks the HTTP server needs, in one place:
 * two for the HTTPS listener, one to drop a WebSocket (abortWebSocket).
 *
 * Measured on Deno 2.9.6: `Deno.serve` takes one `cert`/`key` and drops
 * anything else, so it cannot choose a host's certificate by SNI.
 * `Deno.listenTls` does accept a certificate resolver under
 * `Symbol.for("unstableSniResolver")` (called with the client's SNI name,
 * "" without one), and `Deno[Deno.internal].serveHttpOnListener` runs
 * Deno.serve's own engine (HTTP/1.1, h2 by ALPN, WebSocket upgrades) on
 * such a listener. Its sibling `serveHttpOnConnection`, which would let us
 * count connections per address, breaks WebSocket upgrades (the upgraded
 * socket dies with its HTTP connection: "Failed to send frame"), so the
 * limits here are on requests, not connections. If a Deno release drops
 * either hook, start-up fails here with this explanation.
 */

export const SNI_RESOLVER = Symbol.for("unstableSniResolver");

export interface ListenerServer {
  finished: Promise<void>;
  shutdown(): Promise<void>;
}

type ServeHttpOnListener = (
  listener: Deno.Listener,
  signal: AbortSignal | undefined,
  handler: (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>,
  onError: (error: unknown) => Response | Promise<Response>,
  onListen: (scheme: string) => void,
) => ListenerServer;

/** Serve HTTP on a bound listener until `signal` aborts (which closes it and its connections). */
export function serveListener(
  listener: Deno.Listener,
  signal: AbortSignal,
  handler: (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>,
  onError: (error: unknown) => Response,
): ListenerServer {
  return internal()(listener, signal, handler, onError, () => {});
}

let cached: ServeHttpOnListener | undefined;

function internal(): ServeHttpOnListener {
  if (cached) return cached;
  // deno-lint-ignore no-explicit-any
  const deno = Deno as any;
  const fn = deno[deno.internal]?.serveHttpOnListener;
  if (typeof fn !== "function") {
    throw new Error(
      `this Deno (${Deno.version.deno}) has no serveHttpOnListener: the HTTP listeners ` +
        "need Deno 2.9 (see src/http/deno_internals.ts); disable listeners.http and listeners.https",
    );
  }
  return cached = fn as ServeHttpOnListener;
}

/** Fail at start, not at the first connection. */
export function checkDenoInternals(): void {
  internal();
}

/**
 * Drop a server-side WebSocket's connection now, without the closing
 * handshake. Measured on Deno 2.9.6: `close()` on a WebSocket whose peer
 * stopped reading never ends — the close frame waits behind the unsent
 * output, the idle-timeout ping too — so the close event never comes and
 * the TCP connection stays open for good. Closing the socket's resource
 * (its `[[rid]]`, as Deno itself does after an unanswered ping) ends the
 * connection and fires the close event. False when this Deno has no such
 * hook (the caller then stops waiting for the close event itself).
 */
export function abortWebSocket(socket: WebSocket): boolean {
  // deno-lint-ignore no-explicit-any
  const deno = Deno as any;
  const core = deno[deno.internal]?.core;
  const ridKey = Object.getOwnPropertySymbols(socket).find((s) => s.description === "[[rid]]");
  // deno-lint-ignore no-explicit-any
  const rid = ridKey === undefined ? undefined : (socket as any)[ridKey];
  if (typeof core?.tryClose !== "function" || typeof rid !== "number") return false;
  try {
    core.tryClose(rid);
    return true;
  } catch {
    return false;
  }
}
