/**
 * The HTTP side of one upload service, under `/upload/<domain>/<id>/<name>`:
 * PUT with a slot's signed URL (once), GET/HEAD of stored files with safe
 * headers and byte ranges, and CORS for web clients.
 */
import type { HttpRequestInfo } from "../../http/routes.ts";
import type { Logger } from "../../log.ts";
import type { Config } from "../../config/schema.ts";
import type { FileMeta, FileStore } from "./store.ts";
import type { SlotSigner } from "./signing.ts";
import { normalizeType } from "./slots.ts";
import { contentDisposition, parseRange } from "./http_headers.ts";
import { fileBody } from "./file_body.ts";
import {
  bodyWithDeadline,
  timeoutResponse,
  transferDeadlineMs,
  TransferTimedOut,
} from "./transfer_deadline.ts";

const ID = /^[A-Za-z0-9_-]{16,64}$/;
const METHODS = "GET, HEAD, PUT, OPTIONS";

export interface UploadHttpDeps {
  domain: string;
  store: FileStore;
  signer: SlotSigner;
  config: () => Config;
  log: Logger;
  /** Told of each file stored (the `upload-stored` event, for metrics). */
  stored(meta: { owner: string; size: number; type: string }): void;
}

/** What the route asks of the upload service whose domain a path names. */
export interface UploadHttpProvider {
  handle(request: Request, info: HttpRequestInfo, segments: string[]): Promise<Response>;
}

export function uploadHttpHandler(deps: UploadHttpDeps): UploadHttpProvider {
  const { store, signer, log } = deps;

  const putOrigin = (request: Request): string | undefined => {
    const origin = request.headers.get("origin");
    const allowed = deps.config().upload.corsOrigins;
    if (allowed.includes("*")) return "*";
    return origin !== null && allowed.includes(origin) ? origin : undefined;
  };

  const preflight = (request: Request): Response => {
    const method = request.headers.get("access-control-request-method")?.toUpperCase();
    const headers: Record<string, string> = { vary: "Origin" };
    const origin = method === "PUT" ? putOrigin(request) : "*";
    if (origin !== undefined) {
      headers["access-control-allow-origin"] = origin;
      headers["access-control-allow-methods"] = METHODS;
      headers["access-control-allow-headers"] = "Content-Type";
      headers["access-control-max-age"] = "86400";
    }
    return new Response(null, { status: 204, headers });
  };

  const put = async (request: Request, id: string, name: string): Promise<Response> => {
    const cors: Record<string, string> = {};
    if (request.headers.has("origin")) {
      const origin = putOrigin(request);
      if (origin === undefined) return text(403, "Origin not allowed");
      cors["access-control-allow-origin"] = origin;
      cors.vary = "Origin";
    }
    if (store.taken(id)) return text(409, "This slot was used already", cors);
    const slot = store.reservation(id);
    const url = new URL(request.url);
    const expires = Number(url.searchParams.get("expires"));
    const sig = url.searchParams.get("sig") ?? "";
    if (!slot || slot.name !== name || slot.expires !== expires) {
      return text(403, "No such upload slot (or it expired)", cors);
    }
    const claims = {
      path: `${deps.domain}/${id}/${name}`,
      size: slot.size,
      contentType: slot.type,
      expires,
    };
    if (!(await signer.verify(claims, sig))) return text(403, "Bad signature", cors);
    if (Math.floor(Date.now() / 1000) > expires) return text(403, "Upload slot expired", cors);
    const length = request.headers.get("content-length");
    if (length === null) return text(411, "Content-Length required", cors);
    if (!/^[0-9]{1,16}$/.test(length) || Number(length) !== slot.size) {
      const status = Number(length) > slot.size ? 413 : 400;
      return text(status, `Content-Length must be the slot's size, ${slot.size}`, cors);
    }
    const sent = normalizeType(request.headers.get("content-type") ?? undefined);
    if (sent === undefined || (slot.type !== "" && sent !== "" && sent !== slot.type)) {
      return text(415, `Content-Type must be the slot's, ${slot.type}`, cors);
    }
    const type = slot.type || sent || "application/octet-stream";
    const ms = transferDeadlineMs(slot.size, deps.config().upload);
    const timed = request.body ? bodyWithDeadline(request.body, ms) : undefined;
    let outcome;
    try {
      outcome = await store.write(slot, type, timed?.body ?? null, () => Date.now());
    } catch (err) {
      if (!(err instanceof TransferTimedOut)) throw err;
      // The part file is gone (store.write) and, as after a short body, the
      // slot stays usable until it expires. 408 (RFC 9110 §15.5.9) says
      // what happened; clients take it as a failed upload like any 4xx, and
      // some (OkHttp, under Conversations) repeat the PUT once, which the
      // slot allows. The 400 of a short body would blame the client's
      // framing instead. The answer ends the connection as soon as the
      // client sends on; a client that stays silent keeps its connection,
      // counted in http.maxRequests*, until it leaves (Deno offers no way
      // to drop it), but not the slot or a file.
      log.info(
        "upload {id} of {owner} refused: {received} of {size} bytes in {seconds} s",
        { id, owner: slot.owner, received: timed!.received, size: slot.size, seconds: ms / 1000 },
      );
      return timeoutResponse(timed!.settled, cors);
    } finally {
      timed?.stop();
    }
    if (outcome === "taken") return text(409, "This slot was used already", cors);
    if (outcome === "withdrawn") return text(403, "The upload slot was withdrawn", cors);
    if (outcome !== "ok") {
      return text(
        400,
        `Body ${outcome === "long" ? "longer" : "shorter"} than Content-Length`,
        cors,
      );
    }
    deps.stored({ owner: slot.owner, size: slot.size, type });
    log.info("stored upload {id} of {owner}: {size} bytes", {
      id,
      owner: slot.owner,
      size: slot.size,
    });
    return text(201, "Created", cors);
  };

  const get = async (request: Request, meta: FileMeta): Promise<Response> => {
    const etag = `"${meta.id}"`;
    const headers: Record<string, string> = {
      "content-type": meta.type,
      "content-disposition": contentDisposition(meta.type, meta.name),
      "x-content-type-options": "nosniff",
      "content-security-policy": "default-src 'none'; frame-ancestors 'none'; sandbox",
      "referrer-policy": "no-referrer",
      "access-control-allow-origin": "*",
      "access-control-expose-headers": "Content-Length, Content-Range, Content-Disposition",
      "accept-ranges": "bytes",
      etag,
      "last-modified": new Date(meta.time).toUTCString(),
      // Immutable: a URL always names the same bytes (a new upload gets a new id).
      // Private: a shared cache (a reverse proxy, a CDN) would go on serving a
      // file after it expired or went with its owner's account.
      "cache-control": "private, max-age=31536000, immutable",
    };
    const inm = request.headers.get("if-none-match");
    if (inm !== null && inm.split(",").some((t) => t.trim() === etag || t.trim() === "*")) {
      return new Response(null, { status: 304, headers });
    }
    let start = 0;
    let end = meta.size - 1;
    let status = 200;
    const rangeHeader = request.headers.get("range");
    const ifRange = request.headers.get("if-range");
    if (rangeHeader !== null && (ifRange === null || ifRange === etag)) {
      const range = parseRange(rangeHeader, meta.size);
      if (range === "unsatisfiable") {
        return new Response(null, {
          status: 416,
          headers: { ...headers, "content-range": `bytes */${meta.size}` },
        });
      }
      if (range) {
        [start, end] = range;
        status = 206;
        headers["content-range"] = `bytes ${start}-${end}/${meta.size}`;
      }
    }
    const length = Math.max(0, end - start + 1);
    headers["content-length"] = String(length);
    if (request.method === "HEAD") return new Response(null, { status, headers });
    const ms = transferDeadlineMs(length, deps.config().upload);
    const body = await fileBody(store.dataPath(meta.id), start, length, {
      ms,
      expired: (sent) =>
        log.info("download of {id} cut off after {seconds} s: {sent} of {length} bytes", {
          id: meta.id,
          seconds: ms / 1000,
          sent,
          length,
        }),
    });
    if (!body) return text(404, "Not Found");
    return new Response(body, { status, headers });
  };

  return {
    async handle(request, _info, segments) {
      if (request.method === "OPTIONS") return preflight(request);
      if (segments.length !== 2 || !ID.test(segments[0])) return text(404, "Not Found");
      const id = segments[0];
      let name: string;
      try {
        name = decodeURIComponent(segments[1]);
      } catch {
        return text(404, "Not Found");
      }
      switch (request.method) {
        case "PUT":
          return await put(request, id, name);
        case "GET":
        case "HEAD": {
          const meta = store.get(id);
          if (!meta || meta.name !== name) {
            return text(404, "Not Found", { "access-control-allow-origin": "*" });
          }
          return await get(request, meta);
        }
        default:
          return text(405, "Method Not Allowed", { allow: METHODS });
      }
    },
  };
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(`${body}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}
