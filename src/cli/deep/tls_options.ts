/**
 * How the deep check trusts the server's certificate: the system store,
 * plus the configured certificate file when it is self-signed (it is then
 * its own CA), or nothing at all with `--insecure`.
 */
export interface TrustOptions {
  /** Extra PEM CA certificates (the configured self-signed certificate). */
  ca?: string[];
  insecure: boolean;
}

/** node:tls options for connecting to `servername`. */
export function nodeTlsOptions(trust: TrustOptions, servername: string) {
  return {
    servername,
    rejectUnauthorized: !trust.insecure,
    ...(trust.ca && trust.ca.length > 0 ? { ca: trust.ca } : {}),
  };
}
