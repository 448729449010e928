/**
 * The operator routes on the HTTP server:
 * - /metrics: the registry as OpenMetrics text (Prometheus text when the
 *   Accept header prefers text/plain); only from `metrics.allowFrom`
 *   addresses or with `Authorization: Bearer <metrics.token>`, else 403;
 *   not served at all when `metrics.enabled` is false;
 * - /health: liveness, 200 "ok" whenever the event loop answers;
 * - /ready: 200 once the listeners are up and storage answers a trivial
 *   read, 503 otherwise (starting, closing, storage down).
 * /health and /ready need no credentials and say nothing more than that.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Config } from "../config/schema.ts";
import type { HttpHandler, HttpRoutes } from "../http/routes.ts";
import { liveTrustedProxies } from "../http/client_address.ts";
import type { StorageDriver } from "../storage/types.ts";
import { CONTENT_TYPES, type Format } from "./registry.ts";
import type { ServerMetrics } from "./server_metrics.ts";

/** Longest /ready waits for storage's answer. */
const READY_STORAGE_TIMEOUT_MS = 2000;

export interface ReadinessSources {
  metrics: ServerMetrics;
  storage: StorageDriver;
  /** A hosted domain the storage probe reads under. */
  probeHost: string;
}

export function addMetricsRoutes(
  routes: HttpRoutes,
  config: Config,
  sources: ReadinessSources,
): void {
  routes.add("/health", onlyGet(() => plain(200, "ok")));
  routes.add(
    "/ready",
    onlyGet(async () => (await isReady(sources)) ? plain(200, "ready") : plain(503, "not ready")),
  );
  if (config.metrics.enabled) routes.add("/metrics", metricsHandler(config, sources.metrics));
}

export function metricsHandler(config: Config, metrics: ServerMetrics): HttpHandler {
  // Both read per request: a reload that revokes a scraper's access revokes it at once.
  const allowed = liveTrustedProxies(() => config.metrics.allowFrom);
  let token: { text: string; digest: Uint8Array } | undefined;
  const expected = () => {
    const text = config.metrics.token;
    if (text === undefined) return undefined;
    if (token?.text !== text) token = { text, digest: digest(text) };
    return token.digest;
  };
  return onlyGet((request, info) => {
    if (!allowed().has(info.remoteAddress) && !bearerMatches(request, expected())) {
      return plain(403, "Forbidden");
    }
    const format = negotiate(request.headers.get("accept"));
    return new Response(metrics.registry.render(format), {
      headers: { "content-type": CONTENT_TYPES[format], "cache-control": "no-store" },
    });
  });
}

/** True when the server listens and storage answers a read in time. */
export async function isReady({ metrics, storage, probeHost }: ReadinessSources): Promise<boolean> {
  if (!metrics.listening) return false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const probe = storage.keyval(probeHost, "readiness").get("").then(() => true, () => false);
    const timeout = new Promise<boolean>((r) =>
      timer = setTimeout(() => r(false), READY_STORAGE_TIMEOUT_MS)
    );
    return await Promise.race([probe, timeout]) && metrics.listening;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * OpenMetrics unless the client asks for text/plain without naming
 * OpenMetrics (Prometheus sends both, OpenMetrics first-preferred).
 */
export function negotiate(accept: string | null): Format {
  if (accept === null) return "openmetrics";
  const a = accept.toLowerCase();
  if (a.includes("application/openmetrics-text")) return "openmetrics";
  return a.includes("text/plain") ? "prometheus" : "openmetrics";
}

function bearerMatches(request: Request, expected: Uint8Array | undefined): boolean {
  if (expected === undefined) return false;
  const header = request.headers.get("authorization") ?? "";
  const m = /^Bearer +(\S+)\s*$/i.exec(header);
  // Digests compared: constant time, and the token's length leaks nothing either.
  return m !== null && timingSafeEqual(digest(m[1]), expected);
}

function digest(s: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(s).digest());
}

function onlyGet(handler: HttpHandler): HttpHandler {
  return (request, info) =>
    request.method === "GET" || request.method === "HEAD"
      ? handler(request, info)
      : new Response("Method Not Allowed\n", {
        status: 405,
        headers: { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" },
      });
}

function plain(status: number, body: string): Response {
  return new Response(body + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
  });
}
