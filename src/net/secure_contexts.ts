/**
 * node:tls secure contexts for the hosted certificates, chosen by SNI,
 * and the `tls-server-end-point` channel-binding data of each (what
 * SCRAM-*-PLUS binds to: the certificate we presented).
 */
import * as tls from "node:tls";
import type { CertStore, HostCert } from "../tls/certs.ts";
import { tlsServerEndPoint } from "../auth/tls_channel_binding.ts";
import type { ServerTlsOptions } from "./connection.ts";

export class SecureContexts {
  #contexts = new Map<HostCert, tls.SecureContext>();
  #endPoints = new Map<HostCert, Uint8Array>();

  private constructor(readonly certs: CertStore) {}

  static async create(certs: CertStore): Promise<SecureContexts> {
    const self = new SecureContexts(certs);
    for (const cert of new Set([certs.default, ...certs.all])) {
      self.#contexts.set(cert, tls.createSecureContext({ cert: cert.certPem, key: cert.keyPem }));
      // RFC 5929 defines no binding for signatures without one hash
      // (Ed25519…): such a certificate simply gets no -PLUS mechanisms.
      const endPoint = await tlsServerEndPoint(cert.certDer).catch(() => undefined);
      if (endPoint) self.#endPoints.set(cert, endPoint);
    }
    return self;
  }

  /** The certificate presented for an SNI name (the default without one). */
  certFor(servername: string | undefined): HostCert {
    return (servername && this.certs.forHost(servername.toLowerCase())) || this.certs.default;
  }

  endPointFor(servername: string | undefined): Uint8Array | undefined {
    return this.#endPoints.get(this.certFor(servername));
  }

  serverOptions(alpn: string[]): ServerTlsOptions {
    return {
      secureContext: this.#contexts.get(this.certs.default)!,
      SNICallback: (name, cb) => cb(null, this.#contexts.get(this.certFor(name))),
      ALPNProtocols: alpn,
    };
  }
}
