/** Which DNS names a certificate is for, and whether they cover a domain (RFC 6125). */
import { SubjectAlternativeNameExtension, type X509Certificate } from "./x509.ts";

/**
 * The SAN DNS names; the subject CN only when there is no SAN extension, as
 * RFC 6125 §6.4.4 says clients must do.
 */
export function certificateNames(cert: X509Certificate): string[] {
  const san = cert.getExtension(SubjectAlternativeNameExtension);
  if (san) {
    return san.names.items.filter((n) => n.type === "dns").map((n) => n.value.toLowerCase());
  }
  const cn = cert.subjectName.getField("CN")[0];
  return cn ? [cn.toLowerCase()] : [];
}

/** `*.example.com` covers `a.example.com` only: a wildcard stands for exactly one label. */
export function nameCovers(name: string, domain: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, "");
  const d = domain.toLowerCase().replace(/\.$/, "");
  if (!n.startsWith("*.")) return n === d;
  const dot = d.indexOf(".");
  return dot > 0 && d.slice(dot + 1) === n.slice(2);
}

export function namesCover(names: readonly string[], domain: string): boolean {
  return names.some((n) => nameCovers(n, domain));
}
