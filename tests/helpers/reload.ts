/** Reloading a test server: the config it would start with, for `server.reload(next)`. */
import { type Config, configSchema } from "../../src/config/schema.ts";
import { merge, type TestServer } from "./server.ts";

const LOCAL = { interfaces: ["127.0.0.1"], port: 0 };

/** What startTestServer starts with: a reloaded config must name the same listeners. */
export const RELOAD_BASE = {
  listeners: {
    c2s: LOCAL,
    c2sDirectTls: LOCAL,
    s2s: LOCAL,
    s2sDirectTls: LOCAL,
    component: LOCAL,
    http: LOCAL,
    https: LOCAL,
  },
  storage: { driver: "memory" },
  log: { level: Deno.env.get("PARLEY_TEST_LOG") ?? "fatal" },
};

/** The config startTestServer would run for `overrides`, for reload(next). */
export function configFor(server: TestServer, overrides: Record<string, unknown>): Config {
  return configSchema.parse(merge({ ...RELOAD_BASE, dataDir: server.dataDir }, overrides));
}
