/**
 * Two Parley instances on 127.0.0.1 that federate: a.test and b.test,
 * each routing the other's domain (and any `extraRoutes` of a's) to its
 * s2s port through `s2s.hosts`, which is read at connect time, so it is
 * filled once both listen.
 */
import { TestClient } from "./client.ts";
import { startTestServer, type TestServer } from "./server.ts";
import type { StartOptions } from "../../src/server.ts";

export async function serverPair(
  overridesA: Record<string, unknown> = {},
  overridesB: Record<string, unknown> = {},
  /** More domains b.test reaches at a.test's s2s port (e.g. a component's). */
  extraRoutes: string[] = [],
  /** a's start options (extra modules, service modules). */
  optionsA: Omit<StartOptions, "storage"> = {},
): Promise<[TestServer, TestServer]> {
  const a = await startTestServer({ hosts: ["a.test"], ...overridesA }, undefined, optionsA);
  const b = await startTestServer({ hosts: ["b.test"], ...overridesB });
  a.config.s2s.hosts["b.test"] = `127.0.0.1:${b.ports.s2s}`;
  for (const domain of ["a.test", ...extraRoutes]) {
    b.config.s2s.hosts[domain] = `127.0.0.1:${a.ports.s2s}`;
  }
  return [a, b];
}

/** Log `user` in at `domain` on `server` (STARTTLS, SCRAM, bind, presence). */
export function loginAt(
  server: TestServer,
  user: string,
  password: string,
  domain: string,
  resource = "r",
): Promise<TestClient> {
  return TestClient.login({ port: server.ports.c2s, domain, user, password, resource });
}
