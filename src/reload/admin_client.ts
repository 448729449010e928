/** The client side of the admin socket (see admin_socket.ts): one request, one response. */
import type { AdminRequest } from "./admin_socket.ts";

/** Longest response read: a reload report is a few kilobytes. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

export type AdminResponse = { ok: true; result: unknown } | { ok: false; error: string };

/** Thrown when no server answers on the socket (not running, another dataDir, no permission). */
export class AdminUnreachable extends Error {
  override name = "AdminUnreachable";
  constructor(
    message: string,
    /**
     * A server took the connection and then failed to answer: it may have
     * acted on the request, so a caller must not do the work itself too.
     */
    readonly connected = false,
  ) {
    super(message);
  }
}

export async function adminRequest(
  path: string,
  request: AdminRequest,
  timeoutMs = 120_000,
): Promise<AdminResponse> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound
      ? "no such socket: is the server running with this config's dataDir?"
      : err instanceof Deno.errors.ConnectionRefused
      ? "nobody listens on it: the server is not running"
      : err instanceof Deno.errors.PermissionDenied
      ? "permission denied: run as the server's user"
      : String((err as Error).message ?? err);
    throw new AdminUnreachable(`cannot reach the server on ${path}: ${why}`);
  }
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* already closed */ }
  }, timeoutMs);
  try {
    const bytes = new TextEncoder().encode(JSON.stringify(request) + "\n");
    for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
    const chunks: Uint8Array[] = [];
    let total = 0;
    const buffer = new Uint8Array(64 * 1024);
    while (total <= MAX_RESPONSE_BYTES) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
      total += n;
      if (buffer.subarray(0, n).includes(10)) break;
    }
    const text = new TextDecoder().decode(concat(chunks, total)).trim();
    try {
      return JSON.parse(text) as AdminResponse;
    } catch {
      throw new AdminUnreachable(`the server on ${path} sent no answer`, true);
    }
  } catch (err) {
    if (err instanceof AdminUnreachable) throw err;
    throw new AdminUnreachable(`the server on ${path} did not answer: ${err}`, true);
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
