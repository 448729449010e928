/**
 * `parley check` for the HTTP server: which listeners serve it, and
 * whether the WebSocket and BOSH URLs host-meta advertises (XEP-0156)
 * reach one of them, directly or through a reverse proxy.
 */
import type { Config } from "../config/schema.ts";
import { BOSH_PATH, WEBSOCKET_PATH } from "../http/host_meta.ts";
import { isLoopback } from "../http/client_address.ts";
import type { Report } from "./check_report.ts";

export function checkHttp(config: Config, report: Report): void {
  const { http, https } = config.listeners;
  const { websocket, bosh, trustedProxies } = config.http;
  const where = (l: { interfaces: string[]; port: number }) =>
    l.interfaces.map((i) => `[${i}]:${l.port}`).join(", ");
  if (http.enabled) {
    const local = http.interfaces.every((i) => i === "localhost" || isLoopback(i));
    report.line(
      local || trustedProxies.length > 0 ? "OK" : "WARN",
      "http",
      `listeners.http: plain HTTP on ${where(http)}` +
        (local
          ? " (loopback: for a reverse proxy on this machine)"
          : trustedProxies.length > 0
          ? ` (for the proxies in http.trustedProxies)`
          : ": unencrypted and not on loopback; browsers on https pages cannot use it"),
    );
  }
  if (https.enabled) {
    report.line("OK", "http", `listeners.https: HTTPS on ${where(https)}, certificates by SNI`);
  }
  if (!http.enabled && !https.enabled) {
    report.line(
      websocket || bosh ? "WARN" : "OK",
      "http",
      "no HTTP listener: WebSocket, BOSH and host-meta are not served" +
        (websocket || bosh ? " (http.websocket / http.bosh have no effect)" : ""),
    );
    return;
  }
  if (websocket) checkUrl(config, report, "websocket", config.http.websocketUrl, WEBSOCKET_PATH);
  if (bosh) checkUrl(config, report, "bosh", config.http.boshUrl, BOSH_PATH);
}

function checkUrl(
  config: Config,
  report: Report,
  kind: "websocket" | "bosh",
  advertised: string | undefined,
  path: string,
): void {
  const key = kind === "websocket" ? "http.websocketUrl" : "http.boshUrl";
  const label = kind === "websocket" ? "WebSocket" : "BOSH";
  if (advertised === undefined) {
    report.line(
      "OK",
      "http",
      `${label} advertised at ${path} of the host and scheme each client used (${key} not set)`,
    );
    return;
  }
  const url = new URL(advertised);
  const secure = url.protocol === "wss:" || url.protocol === "https:";
  const port = Number(url.port || (secure ? 443 : 80));
  const listener = secure ? config.listeners.https : config.listeners.http;
  const name = secure ? "listeners.https" : "listeners.http";
  const proxied = config.http.trustedProxies.length > 0;
  if (url.pathname !== path) {
    report.line(
      proxied ? "OK" : "WARN",
      "http",
      `${key} ${advertised}: path ${url.pathname} is not ${path}, where Parley serves ${label}` +
        (proxied ? "; the reverse proxy must map it" : ""),
    );
  }
  if (listener.enabled && port === listener.port) {
    report.line("OK", "http", `${key} ${advertised} matches ${name} (port ${port})`);
  } else if (proxied) {
    report.line(
      "OK",
      "http",
      `${key} ${advertised} matches no listener: served through a reverse proxy ` +
        `(http.trustedProxies) that forwards to ${describeTargets(config)}`,
    );
  } else {
    report.line(
      "WARN",
      "http",
      `${key} ${advertised} matches no listener (${describeTargets(config)}): ` +
        "behind a reverse proxy, list it in http.trustedProxies; otherwise fix the URL",
    );
  }
}

function describeTargets(config: Config): string {
  const { http, https } = config.listeners;
  const out: string[] = [];
  if (http.enabled) out.push(`http port ${http.port}`);
  if (https.enabled) out.push(`https port ${https.port}`);
  return out.join(", ");
}
