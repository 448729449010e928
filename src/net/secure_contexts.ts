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
  #certs: CertStore;
  #contexts: Map<HostCert, tls.SecureContext>;
  #endPoints: Map<HostCert, Uint8Array>;

  private constructor(built: Built) {
    this.#certs = built.certs;
    this.#contexts = built.contexts;
    this.#endPoints = built.endPoints;
  }

  static async create(certs: CertStore): Promise<SecureContexts> {
    return new SecureContexts(await build(certs));
  }

  /** The certificates in use now (a reload may replace them). */
  get certs(): CertStore {
    return this.#certs;
  }

  /**
   * Use `certs` for every handshake from now on (config reload, renewed
   * files). Every context is built before anything is swapped, so a pair
   * node:tls refuses (a key that does not match) leaves the old ones in
   * use; connections already encrypted keep the context they started with.
   */
  async replace(certs: CertStore): Promise<void> {
    const built = await build(certs);
    this.#certs = built.certs;
    this.#contexts = built.contexts;
    this.#endPoints = built.endPoints;
  }

  /**
   * A CertStore that always answers with the certificates in use, for the
   * HTTPS listeners, which keep the store they were given.
   */
  readonly live: CertStore = liveView(() => this.#certs);

  /** The certificate presented for an SNI name (the default without one). */
  certFor(servername: string | undefined): HostCert {
    return (servername && this.certs.forHost(servername.toLowerCase())) || this.certs.default;
  }

  endPointFor(servername: string | undefined): Uint8Array | undefined {
    return this.#endPoints.get(this.certFor(servername));
  }

  serverOptions(alpn: string[]): ServerTlsOptions {
    return {
      // Deno's node:tls asks SNICallback even when the client sends no
      // name (with ""), so certFor() answers those too and they see a
      // reloaded default at once (tests/integration/reload_test.ts); this
      // context, fixed when the listener opened, is node's fallback.
      secureContext: this.#contexts.get(this.certs.default)!,
      SNICallback: (name, cb) => cb(null, this.#contexts.get(this.certFor(name))),
      ALPNProtocols: alpn,
    };
  }
}

interface Built {
  certs: CertStore;
  contexts: Map<HostCert, tls.SecureContext>;
  endPoints: Map<HostCert, Uint8Array>;
}

async function build(certs: CertStore): Promise<Built> {
  const contexts = new Map<HostCert, tls.SecureContext>();
  const endPoints = new Map<HostCert, Uint8Array>();
  for (const cert of new Set([certs.default, ...certs.all])) {
    contexts.set(cert, tls.createSecureContext({ cert: cert.certPem, key: cert.keyPem }));
    // RFC 5929 defines no binding for signatures without one hash
    // (Ed25519…): such a certificate simply gets no -PLUS mechanisms.
    const endPoint = await tlsServerEndPoint(cert.certDer).catch(() => undefined);
    if (endPoint) endPoints.set(cert, endPoint);
  }
  return { certs, contexts, endPoints };
}

function liveView(current: () => CertStore): CertStore {
  return {
    forHost: (domain) => current().forHost(domain),
    get default() {
      return current().default;
    },
    get all() {
      return current().all;
    },
  };
}
