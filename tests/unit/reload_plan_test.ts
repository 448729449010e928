import assert from "node:assert/strict";
import { configSchema } from "../../src/config/schema.ts";
import { planReload } from "../../src/reload/plan.ts";

Deno.test("reload plan: hosts, modules, tls and log apply; listeners, storage and limits wait for a restart", () => {
  const running = configSchema.parse({ hosts: ["a.example"] });
  const next = configSchema.parse({
    hosts: ["a.example", "b.example"],
    modules: ["ping"],
    log: { level: "debug" },
    muc: { enabled: false, maxRooms: 5 },
    listeners: { c2s: { port: 15222 } },
    storage: { driver: "memory" },
    dataDir: "/elsewhere",
    c2s: { maxStanzaSize: 4096 },
  });
  const { effective, needsRestart } = planReload(running, next);
  assert.deepEqual(effective.hosts, ["a.example", "b.example"]);
  assert.deepEqual(effective.modules, ["ping"]);
  assert.equal(effective.log.level, "debug");
  assert.equal(effective.muc.enabled, false);
  assert.equal(effective.muc.maxRooms, running.muc.maxRooms);
  assert.equal(effective.listeners.c2s.port, running.listeners.c2s.port);
  assert.equal(effective.dataDir, running.dataDir);
  assert.deepEqual(needsRestart.sort(), [
    "c2s",
    "dataDir",
    "listeners.c2s",
    "muc.maxRooms",
    "storage.driver",
  ]);
  assert.deepEqual(planReload(running, running).needsRestart, []);
});

Deno.test("reload plan: access settings apply; their sections' other keys are named one by one as waiting", () => {
  const running = configSchema.parse({ hosts: ["a.example"] });
  const next = configSchema.parse({
    hosts: ["a.example"],
    registration: { enabled: true, maxPerIp: 2 },
    metrics: { allowFrom: ["10.0.0.0/8"], token: "abcdefghijklmnop" },
    http: { trustedProxies: ["127.0.0.1"] },
    s2s: { requireValidCertificates: true },
    muc: { create: "admins" },
  });
  const { effective, needsRestart } = planReload(running, next);
  assert.equal(effective.registration.enabled, true);
  assert.equal(effective.registration.maxPerIp, running.registration.maxPerIp);
  assert.deepEqual(effective.metrics.allowFrom, ["10.0.0.0/8"]);
  assert.equal(effective.metrics.token, "abcdefghijklmnop");
  assert.deepEqual(effective.http.trustedProxies, ["127.0.0.1"]);
  assert.equal(effective.s2s.requireValidCertificates, true);
  assert.equal(effective.muc.create, "admins");
  assert.deepEqual(needsRestart, ["registration.maxPerIp"]);
});
