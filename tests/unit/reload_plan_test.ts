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
