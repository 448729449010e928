/**
 * Starts a real Parley on 127.0.0.1, ports chosen by the OS, memory
 * storage and a certificate generated into a temporary data directory.
 */
import { type Config, configSchema } from "../../src/config/schema.ts";
import { type RunningServer, type StartOptions, startServer } from "../../src/server.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { deleteAccount } from "../../src/core/accounts.ts";

export interface TestServer extends RunningServer {
  config: Config;
  dataDir: string;
  stop(): Promise<void>;
}

// Deep-merge plain objects so a test overrides only what it names.
export function merge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = v && typeof v === "object" && !Array.isArray(v) && b && typeof b === "object"
      ? merge(b as Record<string, unknown>, v as Record<string, unknown>)
      : v;
  }
  return out;
}

export async function startTestServer(
  overrides: Record<string, unknown> = {},
  users: Record<string, string> = { alice: "wonderland", bob: "builder" },
  /** Start options (extra modules, service modules; storage replaces the memory driver). */
  options: StartOptions = {},
): Promise<TestServer> {
  const dataDir = await Deno.makeTempDir({ prefix: "parley-test-" });
  const base = {
    hosts: ["localhost"],
    dataDir,
    listeners: {
      c2s: { interfaces: ["127.0.0.1"], port: 0 },
      c2sDirectTls: { interfaces: ["127.0.0.1"], port: 0 },
      s2s: { interfaces: ["127.0.0.1"], port: 0 },
      s2sDirectTls: { interfaces: ["127.0.0.1"], port: 0 },
      component: { interfaces: ["127.0.0.1"], port: 0 },
      http: { interfaces: ["127.0.0.1"], port: 0 },
      https: { interfaces: ["127.0.0.1"], port: 0 },
    },
    storage: { driver: "memory" },
    log: { level: Deno.env.get("PARLEY_TEST_LOG") ?? "fatal" },
  };
  const config = configSchema.parse(merge(base, overrides));
  // Memory storage unless the test asks for the real driver (SQLite in dataDir).
  const sqlite = config.storage.driver === "sqlite";
  const server = await startServer(
    config,
    sqlite ? options : { ...options, storage: options.storage ?? new MemoryStorage() },
  );
  // Accounts on user hosts only: service hosts (conference.localhost…) have none.
  for (const [host, { kind }] of server.hosts) {
    if (kind !== "user") continue;
    for (const [user, password] of Object.entries(users)) {
      await server.auth.createUser(host, user, password);
    }
  }
  return {
    ...server,
    config,
    dataDir,
    async stop() {
      await server.close();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Remove `user`'s account on `domain` the way the server does (its
 * sessions ended, its data gone), without a client asking for it.
 */
export async function removeAccount(
  server: TestServer,
  user: string,
  domain = "localhost",
): Promise<void> {
  await deleteAccount(
    {
      config: server.config,
      // Account removal reaches neither the router nor components.
      router: undefined as never,
      sessions: server.sessions,
      storage: server.storage,
      auth: server.auth,
      components: undefined as never,
    },
    server.hosts.get(domain)!,
    user,
  );
}

/** A test server for the length of `fn`, stopped afterwards whatever `fn` did. */
export async function withTestServer(
  overrides: Record<string, unknown>,
  fn: (server: TestServer) => Promise<void>,
): Promise<void> {
  const server = await startTestServer(overrides);
  try {
    await fn(server);
  } finally {
    await server.stop();
  }
}
