/** Where each host's certificate comes from; shared by start-up and `parley check`. */
import { join } from "node:path";
import { type Config, hostConfigs, serviceHostConfigs } from "../config/schema.ts";

export interface CertFiles {
  certificate: string;
  key: string;
}

/** Both PEM files of a pair, read together. */
export async function readPemPair(files: CertFiles): Promise<{ certPem: string; keyPem: string }> {
  const [certPem, keyPem] = await Promise.all([
    Deno.readTextFile(files.certificate),
    Deno.readTextFile(files.key),
  ]);
  return { certPem, keyPem };
}

export interface CertSource {
  domain: string;
  files: CertFiles;
  /** "host": its own pair; "global": the top-level `tls`; "self-signed": generated in dataDir. */
  origin: "host" | "global" | "self-signed";
  /** A service host's (internal component's) source: its parent's domain. */
  parent?: string;
}

export function selfSignedFiles(config: Config): CertFiles {
  const dir = join(config.dataDir, "certs");
  return { certificate: join(dir, "selfsigned.crt"), key: join(dir, "selfsigned.key") };
}

/**
 * Every hosted domain's source, then every service host's (`conference.<domain>`):
 * its parent's pair, else the global one, else the generated one.
 */
export function certificateSources(config: Config): CertSource[] {
  return [...hostConfigs(config), ...serviceHostConfigs(config)].map((host): CertSource => {
    const { domain, parent } = host;
    if (host.tls) return { domain, parent, files: host.tls, origin: "host" };
    if (config.tls) return { domain, parent, files: config.tls, origin: "global" };
    return { domain, parent, files: selfSignedFiles(config), origin: "self-signed" };
  });
}
