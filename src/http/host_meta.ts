/**
 * XEP-0156 connection discovery over HTTP: /.well-known/host-meta (XRD)
 * and /.well-known/host-meta.json (JRD) name the WebSocket and BOSH
 * endpoints, each only when enabled. URLs come from the config, or else
 * from the request's Host and scheme, which is right for a client that
 * reached us directly or through a proxy that keeps the Host header.
 */
import type { Config } from "../config/schema.ts";
import { escapeAttr } from "../xml/element.ts";
import type { HttpRequestInfo, HttpRoutes } from "./routes.ts";

export const WEBSOCKET_PATH = "/xmpp-websocket";
export const BOSH_PATH = "/http-bind";
const REL_WEBSOCKET = "urn:xmpp:alt-connections:websocket";
const REL_BOSH = "urn:xmpp:alt-connections:xbosh";

interface AltConnection {
  rel: string;
  href: string;
}

/** The endpoints to advertise to a client that asked with `info`. */
function altConnections(config: Config, info: HttpRequestInfo): AltConnection[] {
  const { websocket, bosh, websocketUrl, boshUrl } = config.http;
  const authority = info.authority || "localhost";
  const links: AltConnection[] = [];
  if (websocket) {
    links.push({
      rel: REL_WEBSOCKET,
      href: websocketUrl ?? `${info.secure ? "wss" : "ws"}://${authority}${WEBSOCKET_PATH}`,
    });
  }
  if (bosh) {
    links.push({
      rel: REL_BOSH,
      href: boshUrl ?? `${info.secure ? "https" : "http"}://${authority}${BOSH_PATH}`,
    });
  }
  return links;
}

const HEADERS = {
  // XEP-0156 §3: browsers on other origins must be able to read it.
  "access-control-allow-origin": "*",
  "cache-control": "max-age=3600",
};

export function addHostMetaRoutes(routes: HttpRoutes, config: Config): void {
  routes.add("/.well-known/host-meta", (request, info) => {
    if (request.method !== "GET" && request.method !== "HEAD") return notAllowed();
    const links = altConnections(config, info)
      .map((l) => `  <Link rel="${escapeAttr(l.rel)}" href="${escapeAttr(l.href)}"/>\n`)
      .join("");
    const xml = `<?xml version="1.0" encoding="utf-8"?>\n` +
      `<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n${links}</XRD>\n`;
    return new Response(xml, { headers: { ...HEADERS, "content-type": "application/xrd+xml" } });
  });
  routes.add("/.well-known/host-meta.json", (request, info) => {
    if (request.method !== "GET" && request.method !== "HEAD") return notAllowed();
    const body = JSON.stringify({ links: altConnections(config, info) });
    return new Response(body, { headers: { ...HEADERS, "content-type": "application/json" } });
  });
}

function notAllowed(): Response {
  return new Response("Method Not Allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
}
