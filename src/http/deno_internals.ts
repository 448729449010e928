/**
 * The two undocumented Deno 2.9 hooks the HTTPS listener needs, in one place.
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
