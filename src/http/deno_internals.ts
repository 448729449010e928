/**
 * The two undocumented Deno 2.9 hooks the HTTP server needs, in one place.
 *
 * Measured on Deno 2.9.6: `Deno.serve` takes one `cert`/`key` and drops
 * anything else, so it cannot choose a host's certificate by SNI, and it
 * never shows the server a connection, so connections per address cannot
 * be counted. `Deno.listenTls` does accept a certificate resolver under
 * `Symbol.for("unstableSniResolver")` (called with the client's SNI name,
 * "" without one), and `Deno[Deno.internal].serveHttpOnConnection` runs
 * Deno.serve's own HTTP/1.1 + h2 engine (hyper) on one accepted
 * connection, WebSocket upgrades included. If a Deno release drops
 * either, start-up fails here with this explanation, not later.
 */

export const SNI_RESOLVER = Symbol.for("unstableSniResolver");

export interface ConnectionServer {
  finished: Promise<void>;
  shutdown(): Promise<void>;
}

type ServeHttpOnConnection = (
  conn: Deno.Conn,
  signal: AbortSignal | undefined,
  handler: (request: Request) => Response | Promise<Response>,
  onError: (error: unknown) => Response | Promise<Response>,
  onListen: (scheme: string) => void,
) => ConnectionServer;

/** Serve HTTP on one accepted connection. */
export function serveConnection(
  conn: Deno.Conn,
  signal: AbortSignal,
  handler: (request: Request) => Response | Promise<Response>,
  onError: (error: unknown) => Response,
): ConnectionServer {
  return internal()(conn, signal, handler, onError, () => {});
}

let cached: ServeHttpOnConnection | undefined;

function internal(): ServeHttpOnConnection {
  if (cached) return cached;
  // deno-lint-ignore no-explicit-any
  const deno = Deno as any;
  const fn = deno[deno.internal]?.serveHttpOnConnection;
  if (typeof fn !== "function") {
    throw new Error(
      `this Deno (${Deno.version.deno}) has no serveHttpOnConnection: the HTTP listeners ` +
        "need Deno 2.9 (see src/http/deno_internals.ts); disable listeners.http and listeners.https",
    );
  }
  return cached = fn as ServeHttpOnConnection;
}

/** Fail at start, not at the first connection. */
export function checkDenoInternals(): void {
  internal();
}
