/**
 * The certificates the listeners serve, per hosted domain: the host's own
 * pair, else the global pair, else one self-signed certificate generated in
 * `<dataDir>/certs` and reused across restarts while it still fits.
 */
import { dirname } from "node:path";
import type { Config } from "../config/schema.ts";
import { logger } from "../log.ts";
import { leafCertificate } from "./pem.ts";
import { certificateNames, namesCover } from "./names.ts";
import { privateKeyMatches } from "./keys.ts";
import { generateSelfSigned, selfSignedNames } from "./selfsigned.ts";
import {
  type CertFiles,
  certificateSources,
  type CertSource,
  readPemPair,
  selfSignedFiles,
} from "./sources.ts";

export interface HostCert {
  /** The DNS names the certificate is valid for (SANs; may hold wildcards). */
  domains: string[];
  /** The full PEM chain as read. */
  certPem: string;
  keyPem: string;
  /** DER of the leaf; SCRAM-PLUS `tls-server-end-point` hashes this. */
  certDer: Uint8Array;
  notAfter: Date;
}

export interface CertStore {
  /** The certificate for a hosted domain, or one whose names cover `domain` (SNI). */
  forHost(domain: string): HostCert | undefined;
  /** For clients that send no SNI. */
  default: HostCert;
  all: HostCert[];
}

/** A generated certificate is replaced this long before it expires. */
const RENEW_BEFORE_MS = 7 * 86_400_000;

const log = logger("tls");

export async function loadOrCreateCertificates(config: Config): Promise<CertStore> {
  const sources = certificateSources(config);
  if (sources.some((s) => s.origin === "self-signed")) {
    await ensureSelfSigned(selfSignedFiles(config), selfSignedDomains(sources));
  }
  // Hosts sharing a pair share one HostCert, so `all` lists each certificate once.
  const byFiles = new Map<string, HostCert>();
  const byHost = new Map<string, HostCert>();
  for (const source of sources) {
    const id = `${source.files.certificate}\0${source.files.key}`;
    let cert = byFiles.get(id);
    if (!cert) {
      cert = await readHostCert(source.files);
      byFiles.set(id, cert);
    }
    if (!namesCover(cert.domains, source.domain)) {
      // A service domain (conference.<domain>) is reached by servers only, which fall
      // back to dialback; clients never open a stream to it.
      if (source.parent === undefined) {
        log.warn("Certificate {file} does not cover {domain}; clients will reject it", {
          file: source.files.certificate,
          domain: source.domain,
        });
      } else {
        log.info(
          "Certificate {file} does not cover the service domain {domain}: peers use dialback",
          {
            file: source.files.certificate,
            domain: source.domain,
          },
        );
      }
    }
    byHost.set(source.domain, cert);
  }
  const all = [...byFiles.values()];
  const globalId = config.tls && `${config.tls.certificate}\0${config.tls.key}`;
  const selfSigned = selfSignedFiles(config);
  const fallback = (globalId && byFiles.get(globalId)) ||
    byFiles.get(`${selfSigned.certificate}\0${selfSigned.key}`) || all[0];
  return {
    forHost(domain) {
      const d = domain.toLowerCase();
      return byHost.get(d) ?? all.find((c) => namesCover(c.domains, d));
    },
    default: fallback,
    all,
  };
}

/**
 * The names the generated certificate is made for: every hosted domain
 * (each gets its `*.` wildcard too), and a service domain only when no
 * wildcard covers it (`conference.<domain>` is covered by `*.<domain>`).
 * A wildcard over a one-label domain (`*.localhost`) counts for nothing:
 * TLS clients (Node's checkServerIdentity, browsers) refuse wildcards
 * with fewer than two labels after them, so `upload.localhost`, which
 * web clients fetch over HTTPS, gets its own name.
 */
function selfSignedDomains(sources: CertSource[]): string[] {
  const hosted = sources.filter((s) => s.parent === undefined).map((s) => s.domain);
  const names = selfSignedNames(hosted);
  const covered = (s: CertSource) => s.parent!.includes(".") && namesCover(names, s.domain);
  const services = sources.filter((s) => s.parent !== undefined && !covered(s));
  return [...new Set([...hosted, ...services.map((s) => s.domain)])];
}

async function readHostCert(files: CertFiles): Promise<HostCert> {
  const { certPem, keyPem } = await readPemPair(files);
  const leaf = leafCertificate(certPem);
  const key = privateKeyMatches(keyPem, new Uint8Array(leaf.publicKey.rawData));
  if (!key.matches) {
    log.error("Key {key} does not belong to certificate {file}: {why}", {
      key: files.key,
      file: files.certificate,
      why: key.problem ?? "its public key differs",
    });
  }
  if (leaf.notAfter.getTime() <= Date.now()) {
    log.warn("Certificate {file} expired on {date}", {
      file: files.certificate,
      date: leaf.notAfter.toISOString(),
    });
  }
  return {
    domains: certificateNames(leaf),
    certPem,
    keyPem,
    certDer: new Uint8Array(leaf.rawData),
    notAfter: leaf.notAfter,
  };
}

/** Reuse the generated pair when it is readable, valid for a week more, and names every host. */
async function ensureSelfSigned(files: CertFiles, domains: string[]): Promise<void> {
  const reason = await whyRegenerate(files, domains);
  if (reason === undefined) return;
  log.info("Generating a self-signed certificate for {domains} ({reason}) in {file}", {
    domains: domains.join(", "),
    reason,
    file: files.certificate,
  });
  const pair = await generateSelfSigned(domains);
  await Deno.mkdir(dirname(files.key), { recursive: true });
  // Write-then-rename: a crash never leaves a half-written key that would
  // be "reused" on the next start. The key is private to the server's user.
  await writeAtomically(files.key, pair.keyPem, 0o600);
  await writeAtomically(files.certificate, pair.certPem, 0o644);
}

async function whyRegenerate(files: CertFiles, domains: string[]): Promise<string | undefined> {
  let certPem: string, keyPem: string;
  try {
    ({ certPem, keyPem } = await readPemPair(files));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "none yet";
    throw e;
  }
  try {
    const leaf = leafCertificate(certPem);
    if (leaf.notAfter.getTime() - Date.now() <= RENEW_BEFORE_MS) return "expiring";
    const names = certificateNames(leaf);
    // Each of `domains` is meant to be in the certificate by name (see selfSignedDomains).
    const missing = domains.filter((d) => !names.includes(d.toLowerCase()));
    if (missing.length > 0) return `new domains: ${missing.join(", ")}`;
    if (!privateKeyMatches(keyPem, new Uint8Array(leaf.publicKey.rawData)).matches) {
      return "key does not match";
    }
    return undefined;
  } catch (e) {
    return `unreadable: ${(e as Error).message}`;
  }
}

async function writeAtomically(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(tmp, text, { mode });
  // `mode` only applies to newly created files and is masked by the umask.
  await Deno.chmod(tmp, mode);
  await Deno.rename(tmp, path);
}
