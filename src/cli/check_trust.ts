/**
 * Can other servers authenticate a host by its certificate (SASL EXTERNAL,
 * XEP-0178)? The chain the host serves is checked exactly as Parley checks
 * a peer's (`TrustAnchors.verify`: signatures up to the system CA store or
 * `s2s.caFile`, dates, name), so a leaf served without its intermediates,
 * or one from a private CA, is caught here rather than by the first peer
 * that falls back to dialback or refuses it.
 */
import { TrustAnchors } from "../s2s/cert_verify.ts";
import type { Config } from "../config/schema.ts";
import { X509Certificate } from "../tls/x509.ts";
import type { Report } from "./check_report.ts";

const PEER_TRUST = "have peers trust that CA (Parley: s2s.caFile, Prosody: ssl.cafile)";

export interface FederationAnchors {
  /** What public servers trust: the system CA store. */
  system: TrustAnchors;
  /** What this server trusts: the system store plus `s2s.caFile`; absent without one. */
  configured?: TrustAnchors;
}

/** The anchors, or undefined after reporting why `s2s.caFile` is unusable. */
export async function loadAnchors(
  config: Config,
  report: Report,
): Promise<FederationAnchors | undefined> {
  const system = new TrustAnchors();
  const file = config.s2s.caFile;
  if (file === undefined) return { system };
  let pem: string;
  try {
    pem = await Deno.readTextFile(file);
  } catch (e) {
    // The server reads it at start too, and would not start.
    report.line("FAIL", "s2s", `s2s.caFile ${file} cannot be read: ${(e as Error).message}`);
    return undefined;
  }
  const count = pem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
  if (count === 0) {
    report.line("WARN", "s2s", `s2s.caFile ${file} holds no PEM certificate: it adds no CA`);
  } else {
    report.line("OK", "s2s", `s2s.caFile ${file}: ${count} extra CA certificate(s) trusted`);
  }
  return { system, configured: new TrustAnchors(pem) };
}

/**
 * One line on `chain` (DER, leaf first, as served) for `domain`. A failure
 * is a warning while dialback can stand in for the certificate, and fatal
 * for federation when `s2s.allowDialback` is off.
 */
export function checkFederationTrust(
  domain: string,
  chain: Uint8Array[],
  certFile: string,
  anchors: FederationAnchors,
  config: Config,
  report: Report,
): void {
  const publicVerdict = anchors.system.verify(chain, domain);
  if (publicVerdict.ok) {
    report.line("OK", domain, "certificate trusted by other servers (chain to a public CA)");
    return;
  }
  const verdict = anchors.configured?.verify(chain, domain) ?? publicVerdict;
  if (verdict.ok) {
    report.line(
      "OK",
      domain,
      "certificate chains to a CA in s2s.caFile: servers that trust the same CA accept it; " +
        (config.s2s.allowDialback
          ? "others fall back to dialback"
          : "others cannot be reached, as s2s.allowDialback is off") +
        ` (for them: ${publicVerdict.reason})`,
    );
    return;
  }
  const consequence = config.s2s.allowDialback
    ? "federation will fall back to dialback (or fail with requireValidCertificates, " +
      "Prosody's s2s_secure_auth)"
    : "federation will fail: s2s.allowDialback is off, so this server has no other way to " +
      "authenticate";
  const help = remedy(verdict.reason ?? "", chain, certFile);
  report.line(
    config.s2s.allowDialback ? "WARN" : "FAIL",
    domain,
    `certificate not trusted by other servers: ${verdict.reason}; ${consequence}` +
      (help ? `. Remedy: ${help}` : ""),
  );
}

/** What to do about a chain that does not reach a trusted CA. */
function remedy(reason: string, chain: Uint8Array[], certFile: string): string | undefined {
  if (reason === "self-signed certificate") {
    if (chain.length === 1) {
      return "use a certificate from a CA (e.g. Let's Encrypt), or have peers trust this " +
        "certificate itself (Parley: s2s.caFile, Prosody: ssl.cafile)";
    }
    const root = lastOf(chain).subject;
    return `the chain ends at ${root}, a CA other servers do not know: ${PEER_TRUST}, or use ` +
      "a certificate from a public CA";
  }
  if (reason === "unknown issuer") {
    const issuer = lastOf(chain).issuer;
    const where = chain.length === 1
      ? `${certFile} holds the certificate alone, issued by ${issuer}`
      : `the chain in ${certFile} ends with a certificate issued by ${issuer}`;
    return `${where}: append the missing intermediate certificate(s) (the CA's full chain, ` +
      `e.g. Let's Encrypt's fullchain.pem); if ${issuer} is a private CA, ${PEER_TRUST}`;
  }
  // Dates and names have their own lines above.
  return undefined;
}

function lastOf(chain: Uint8Array[]): X509Certificate {
  return new X509Certificate(new Uint8Array(chain[chain.length - 1]));
}
