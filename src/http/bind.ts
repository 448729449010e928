/** Binding one HTTP listener's interfaces with Deno's own sockets (see deno_internals.ts). */
import type { CertStore } from "../tls/certs.ts";
import { ListenError } from "../net/listen_error.ts";
import { logger } from "../log.ts";
import { SNI_RESOLVER } from "./deno_internals.ts";

const log = logger("http");

interface Settings {
  interfaces: string[];
  port: number;
}

/** Listen on every interface; with `certs`, TLS with the certificate chosen by SNI. */
export function bindHttpListener(
  name: string,
  settings: Settings,
  certs: CertStore | undefined,
): Deno.Listener[] {
  const listeners: Deno.Listener[] = [];
  // "::" first: it is dual-stack, and the IPv4 wildcard after it is then
  // skipped below (bound first, it would shut IPv6 out).
  const interfaces = [...settings.interfaces].sort((a, b) =>
    (b === "::" ? 1 : 0) - (a === "::" ? 1 : 0)
  );
  for (const address of interfaces) {
    let listener: Deno.Listener;
    try {
      listener = certs
        ? Deno.listenTls(
          {
            hostname: address,
            port: settings.port,
            alpnProtocols: ["h2", "http/1.1"],
            [SNI_RESOLVER]: (servername: string) => {
              const cert = (servername && certs.forHost(servername)) || certs.default;
              return { cert: cert.certPem, key: cert.keyPem };
            },
          } as unknown as Deno.ListenTlsOptions & Deno.TlsCertifiedKeyPem,
        )
        : Deno.listen({ hostname: address, port: settings.port });
    } catch (err) {
      const other = address === "::" ? "0.0.0.0" : address === "0.0.0.0" ? "::" : undefined;
      if (
        err instanceof Deno.errors.AddrInUse && other &&
        listeners.some((l) => (l.addr as Deno.NetAddr).hostname === other)
      ) {
        log.debug("{listener}: [{address}] is served by the dual-stack wildcard socket", {
          listener: name,
          address,
        });
        continue;
      }
      for (const l of listeners) l.close();
      throw new ListenError(name, address, settings.port, errorCode(err), err as Error);
    }
    listeners.push(listener);
    log.info("{listener} listening on [{address}]:{port}", {
      listener: name,
      address,
      port: (listener.addr as Deno.NetAddr).port,
    });
  }
  return listeners;
}

function errorCode(err: unknown): string | undefined {
  if (err instanceof Deno.errors.AddrInUse) return "EADDRINUSE";
  if (err instanceof Deno.errors.PermissionDenied) return "EACCES";
  if (err instanceof Deno.errors.AddrNotAvailable) return "EADDRNOTAVAIL";
  return (err as { code?: string }).code;
}
