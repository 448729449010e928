/**
 * How the deep check trusts the server's certificate: the system store,
 * plus the configured certificate file when it is self-signed (it is then
 * its own CA), or nothing at all with `--insecure`. Names are matched the
 * way Parley matches a peer's (RFC 6125, XmppAddr and DNS IDs): Node's own
 * matcher refuses a wildcard over one label (`*.localhost`), which XMPP
 * clients accept.
 */
import type { PeerCertificate } from "node:tls";
import { identifiesDomain } from "../../tls/xmpp_identity.ts";

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
    checkServerIdentity: (host: string, cert: PeerCertificate): Error | undefined => {
      if (trust.insecure) return undefined;
      const name = host.replace(/\.$/, "");
      return cert.raw && identifiesDomain(new Uint8Array(cert.raw), name)
        ? undefined
        : new Error(`the certificate does not name ${name}`);
    },
  };
}
