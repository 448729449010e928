/**
 * The config every Parley started by a load benchmark shares: one host,
 * SQLite in `dataDir`, only the c2s listener (STARTTLS) on 127.0.0.1, and
 * what a benchmark needs lifted: in-band registration without its per-IP
 * cap (the generator registers its users), connection and auth-failure
 * limits raised, the c2s read rate off, log level warning. `extra` is
 * merged on top (shallowly, per top-level key).
 *
 * benchConfigInput is the same as plain JSON, for a benchmark that starts
 * Parley as a subprocess with a config file (soak.ts).
 */
import { type Config, configSchema } from "../src/config/schema.ts";

export function benchServerConfig(
  port: number,
  dataDir: string,
  extra: Record<string, unknown> = {},
): Config {
  return configSchema.parse(benchConfigInput(port, dataDir, extra));
}

export function benchConfigInput(
  port: number,
  dataDir: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    hosts: ["localhost"],
    dataDir,
    listeners: {
      c2s: { interfaces: ["127.0.0.1"], port },
      c2sDirectTls: { enabled: false },
      s2s: { enabled: false },
      component: { enabled: false },
      http: { enabled: false },
      https: { enabled: false },
    },
    c2s: {
      maxConnections: 40000,
      maxConnectionsPerIp: 40000,
      maxUnauthenticatedPerIp: 5000,
      readRateBytesPerSecond: 0,
    },
    auth: {
      perIp: { maxFailures: 1000000, windowSeconds: 60 },
      perAccount: { maxFailures: 1000000, windowSeconds: 60 },
    },
    registration: { enabled: true, maxPerIp: 1000000, windowSeconds: 60 },
    log: { level: "warning" },
    ...extra,
  };
}
