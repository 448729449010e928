/**
 * The status page's responses (each with the security headers: strict
 * CSP, nosniff, no framing) and its bounded request readers.
 */
import type { HttpRequestInfo } from "../routes.ts";
import { CONTENT_SECURITY_POLICY } from "./assets.ts";

/**
 * Largest login form or SCRAM message body read. The status routes that
 * take a body register it as their route's body limit, so a chunked body
 * is cut off at this size as it streams, not buffered up to
 * `http.maxBodyBytes` first.
 */
export const FORM_LIMIT = 8192;

export const SECURITY_HEADERS = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  // Not no-referrer: with it a browser sends `Origin: null` on the form's POST.
  "referrer-policy": "same-origin",
};

/**
 * A POST from a page of this very origin: browsers send Origin on every
 * POST, so a missing one is refused too.
 */
export function sameOrigin(req: Request, info: HttpRequestInfo): boolean {
  const origin = req.headers.get("origin");
  if (!origin) return false;
  const scheme = new URL(req.url).protocol;
  return origin === `${scheme}//${info.authority}` ||
    // Behind a TLS-terminating proxy the request reached us as http.
    (info.secure && origin === `https://${info.authority}`);
}

export async function readForm(req: Request): Promise<URLSearchParams | undefined> {
  const type = req.headers.get("content-type") ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded")) return undefined;
  const length = Number(req.headers.get("content-length") ?? "0");
  if (length > FORM_LIMIT) return undefined;
  const body = await req.text();
  if (body.length > FORM_LIMIT) return undefined;
  return new URLSearchParams(body);
}

export function html(status: number, body: string, extra: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: {
      ...SECURITY_HEADERS,
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      ...extra,
    },
  });
}

export function json(status: number, body: unknown, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      ...SECURITY_HEADERS,
      "content-type": "application/json",
      "cache-control": "no-store",
      ...extra,
    },
  });
}

export async function readJson(req: Request): Promise<unknown> {
  const type = req.headers.get("content-type") ?? "";
  if (!type.startsWith("application/json")) return undefined;
  if (Number(req.headers.get("content-length") ?? "0") > FORM_LIMIT) return undefined;
  const body = await req.text();
  if (body.length > FORM_LIMIT) return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

export function text(status: number, body: string, extra: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8", ...extra },
  });
}

export function asset(body: string, type: string): Response {
  return new Response(body, {
    headers: { ...SECURITY_HEADERS, "content-type": type, "cache-control": "no-cache" },
  });
}

export function redirect(location: string, cookie: string): Response {
  return new Response(null, {
    status: 303,
    headers: { ...SECURITY_HEADERS, location, "set-cookie": cookie, "cache-control": "no-store" },
  });
}

export function methodNotAllowed(allow: string): Response {
  return text(405, "Method Not Allowed", { allow });
}
