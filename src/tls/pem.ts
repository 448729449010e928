/** PEM parsing shared by certificate loading and inspection. */
import { X509Certificate } from "./x509.ts";

/** The first certificate of a PEM chain (the leaf, by convention). */
export function leafCertificate(certPem: string): X509Certificate {
  const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(certPem);
  if (!match) throw new Error("no PEM certificate (-----BEGIN CERTIFICATE-----) found");
  return new X509Certificate(match[0]);
}
