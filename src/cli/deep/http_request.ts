/** One HTTP request with the deep check's trust options and a deadline (upload PUT/GET, host-meta). */
import * as http from "node:http";
import * as https from "node:https";
import { STEP_MS } from "./link.ts";
import { nodeTlsOptions, type TrustOptions } from "./tls_options.ts";

const MAX_BODY = 1_000_000;

export function httpRequest(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: Uint8Array | undefined,
  domain: string,
  trust: TrustOptions,
  /** Connect here instead of resolving the URL's name (this server's own listener). */
  connectTo?: string,
): Promise<{ status: number; body: Uint8Array }> {
  const u = new URL(url);
  const secure = u.protocol === "https:";
  const at = connectTo ? { hostname: connectTo } : {};
  if (connectTo) headers = { ...headers, host: u.host };
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(u, {
      ...at,
      method,
      headers: body ? { ...headers, "content-length": String(body.length) } : headers,
      timeout: STEP_MS,
      // The URL's own name (upload.<domain>…), unless it is an address: then the domain.
      ...(secure ? nodeTlsOptions(trust, isAddress(u.hostname) ? domain : u.hostname) : {}),
    }, (res) => {
      const chunks: Uint8Array[] = [];
      let size = 0;
      res.on("data", (d: Uint8Array) => {
        size += d.length;
        if (size > MAX_BODY) req.destroy(new Error("answer too large"));
        else chunks.push(d);
      });
      res.on("end", () => {
        const out = new Uint8Array(size);
        let at = 0;
        for (const c of chunks) {
          out.set(c, at);
          at += c.length;
        }
        resolve({ status: res.statusCode ?? 0, body: out });
      });
    });
    req.on(
      "timeout",
      () => req.destroy(new Error(`${method} ${url}: no answer within ${STEP_MS} ms`)),
    );
    req.on("error", reject);
    req.end(body);
  });
}

function isAddress(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.startsWith("[");
}
