/**
 * The local admin socket: a unix socket `<dataDir>/parley.sock`, mode
 * 0600 (only the server's user may talk to it: whoever can, can reload),
 * one JSON request line in, one JSON response line out, then the
 * connection closes. `{"command":"reload"}` is the first command; others
 * are added to the table `serve` passes in.
 *
 * Wire format: request `{"command": NAME, ...arguments}`; response
 * `{"ok": true, "result": ...}` or `{"ok": false, "error": TEXT}`.
 */
import { dirname, join } from "node:path";
import { logger } from "../log.ts";

const log = logger("server", "admin");

export const ADMIN_SOCKET_FILE = "parley.sock";
/** Longest request line: commands are small; anything longer is not one of ours. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** A client has this long to send its request. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Admin connections served at once; more are closed unanswered. */
const MAX_CONNECTIONS = 8;

export type AdminRequest = { command: string } & Record<string, unknown>;
/** A command's handler: its result is sent back as `result`; a throw becomes `error`. */
export type AdminCommand = (request: AdminRequest) => Promise<unknown>;

export interface AdminSocket {
  path: string;
  close(): Promise<void>;
}

export function adminSocketPath(dataDir: string): string {
  return join(dataDir, ADMIN_SOCKET_FILE);
}

/**
 * Listen on `path`. A socket file left by a server that did not exit
 * cleanly is removed; one another server still answers on, or a file
 * that is not a socket, is left alone and the socket is not opened
 * (undefined, with a log line): the server runs on without it.
 */
export async function openAdminSocket(
  path: string,
  commands: Record<string, AdminCommand>,
): Promise<AdminSocket | undefined> {
  if (!await clearStale(path)) return undefined;
  let listener: Deno.Listener;
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    listener = Deno.listen({ transport: "unix", path });
    await Deno.chmod(path, 0o600);
  } catch (err) {
    log.error("cannot open the admin socket {path} (parley reload will not work): {err}", {
      path,
      err,
    });
    return undefined;
  }
  log.info("admin socket on {path}", { path });
  const open = new Set<Deno.Conn>();
  const serving = (async () => {
    try {
      for await (const conn of listener) {
        if (open.size >= MAX_CONNECTIONS) {
          conn.close();
          continue;
        }
        open.add(conn);
        serve(conn, commands).finally(() => {
          open.delete(conn);
          try {
            conn.close();
          } catch { /* closed by close() */ }
        });
      }
    } catch { /* the listener was closed */ }
  })();
  let closing: Promise<void> | undefined;
  return {
    path,
    close() {
      closing ??= (async () => {
        try {
          listener.close();
        } catch { /* already closed */ }
        for (const conn of open) {
          try {
            conn.close();
          } catch { /* already closed */ }
        }
        await serving;
        await Deno.remove(path).catch(() => {});
      })();
      return closing;
    },
  };
}

/** True when `path` is free to listen on (a stale socket removed). */
async function clearStale(path: string): Promise<boolean> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch {
    return true;
  }
  if (!info.isSocket) {
    log.error("{path} exists and is not a socket; leaving it: no admin socket", { path });
    return false;
  }
  if (await serverAnswers(path)) {
    log.error("another server answers on {path}; no admin socket for this one", { path });
    return false;
  }
  // Nobody listens: left by a server that ended without closing it.
  await Deno.remove(path).catch(() => {});
  return true;
}

/** Whether a server listens on the admin socket `path` (a leftover socket file refuses). */
export async function serverAnswers(path: string): Promise<boolean> {
  try {
    (await Deno.connect({ transport: "unix", path })).close();
    return true;
  } catch {
    return false;
  }
}

async function serve(conn: Deno.Conn, commands: Record<string, AdminCommand>): Promise<void> {
  let response: Record<string, unknown>;
  const line = await readLine(conn);
  if (typeof line !== "string") response = { ok: false, error: line.error };
  else {
    const request = parseRequest(line);
    if (typeof request === "string") response = { ok: false, error: request };
    else if (!Object.hasOwn(commands, request.command)) {
      response = {
        ok: false,
        error: `unknown command "${request.command}" (known: ${Object.keys(commands).join(", ")})`,
      };
    } else {
      try {
        response = { ok: true, result: await commands[request.command](request) };
      } catch (err) {
        log.error("admin command {command} failed: {err}", { command: request.command, err });
        response = { ok: false, error: String((err as Error).message ?? err) };
      }
    }
  }
  try {
    const bytes = new TextEncoder().encode(JSON.stringify(response) + "\n");
    for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
  } catch { /* the client went away */ }
}

/** The request line (without its newline), at most MAX_REQUEST_BYTES, within the timeout. */
async function readLine(conn: Deno.Conn): Promise<string | { error: string }> {
  const buffer = new Uint8Array(MAX_REQUEST_BYTES + 1);
  let length = 0;
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* already closed */ }
  }, REQUEST_TIMEOUT_MS);
  try {
    while (length < buffer.length) {
      const n = await conn.read(buffer.subarray(length));
      if (n === null) break;
      const newline = buffer.subarray(length, length + n).indexOf(10);
      length += n;
      if (newline >= 0) {
        return new TextDecoder().decode(buffer.subarray(0, length - n + newline));
      }
    }
  } catch {
    return { error: "request not received in time" };
  } finally {
    clearTimeout(timer);
  }
  if (length >= buffer.length) return { error: `request longer than ${MAX_REQUEST_BYTES} bytes` };
  // The client closed its side without a newline: what it sent is the request.
  return new TextDecoder().decode(buffer.subarray(0, length));
}

function parseRequest(line: string): AdminRequest | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return "the request is not JSON";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "the request must be a JSON object";
  }
  const command = (value as Record<string, unknown>).command;
  if (typeof command !== "string") return 'the request has no "command"';
  return value as AdminRequest;
}
