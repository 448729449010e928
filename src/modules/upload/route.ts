/**
 * The one HTTP route of every upload service: `/upload/<domain>/…` goes
 * to the service host `<domain>`'s handler (its `upload-http` provider),
 * so several hosted domains share the path. Bodies up to
 * `upload.maxFileBytes` are let through (the handler streams them to
 * disk and checks each against its slot); the HTTP server's own bound
 * stays for every other path.
 */
import type { Config } from "../../config/schema.ts";
import type { Host } from "../../core/host.ts";
import type { HttpRoutes } from "../../http/routes.ts";
import type { UploadHttpProvider } from "./http_handler.ts";

export const UPLOAD_PATH = "/upload/";
/** Provider kind: the service host's HTTP handler. */
export const UPLOAD_HTTP = "upload-http";
/** Provider kind: the bound HTTP ports ("http", "https"), filled once listening. */
export const HTTP_PORTS = "http-ports";

/** Give an upload service host the server's bound HTTP ports (for its slot URLs). */
export function provideHttpPorts(host: Host, ports: Readonly<Record<string, number>>): void {
  if (host.config.service === "upload") host.providers.provide(HTTP_PORTS, ports);
}

/**
 * The `/upload/` route, whether or not upload is on at start: a reload may
 * turn it on, and a domain without an upload service answers 404.
 */
export function addUploadRoute(
  routes: HttpRoutes,
  hosts: ReadonlyMap<string, Host>,
  config: Config,
): void {
  routes.add(UPLOAD_PATH, (request, info) => {
    const segments = new URL(request.url).pathname.slice(UPLOAD_PATH.length).split("/");
    const host = hosts.get(segments[0].toLowerCase());
    const handler = host?.providers.items<UploadHttpProvider>(UPLOAD_HTTP)[0];
    if (!handler) {
      return new Response("Not Found\n", {
        status: 404,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
    return handler.handle(request, info, segments.slice(1));
  }, {
    maxBodyBytes: config.upload.maxFileBytes,
    countWhileStreaming: true,
    // A deadline derived from the size (transfer_deadline.ts), and the body stays Deno's own.
    ownBodyDeadline: true,
  });
}
