/**
 * Login load generator (bench/results/2026-12-06-logins.md): `concurrency`
 * workers each log in over a fresh STARTTLS connection, close, and repeat,
 * for `seconds`; one JSON line on stdout. Scenarios:
 *   prepare  register login1..loginN in-band (password "pw"; idempotent)
 *   sasl1    SCRAM-SHA-1 → restart → bind iq                 (SASL1)
 *   fast     SASL2 + Bind2 with a FAST token, HT-SHA-256-NONE (tokens fetched
 *            first, once per user, by a SCRAM-SHA-256 SASL2 login; not timed)
 *   fastrot  as fast, each login also asking for a new token (request-token)
 *            and using it next time: rotation at every login
 *   scram2   SASL2 + Bind2 with SCRAM-SHA-256
 *   tls      the floor: TCP → stream → STARTTLS → stream, then close (no login)
 * Worker w owns users w, w+C, ...: no user logs in twice at once, so a
 * rotated FAST token is never raced. Latency runs from TCP connect to a
 * usable session (bind result / SASL2 success, plus presence if asked).
 *   deno run -A bench/login/run.ts --port 15422 --scenario fast --server-pid 1234 --label parley
 */
import { parseArgs } from "node:util";
import { pool, register } from "../fanout/client.ts";
import { cpuMeter, percentile } from "../fanout/stats.ts";
import {
  FAST_MECH,
  type FastToken,
  loginSasl1,
  loginSasl2,
  sasl2Offer,
  secured,
  type Target,
  userAgentId,
} from "./login.ts";

const { values: a } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "15422" },
    domain: { type: "string", default: "localhost" },
    scenario: { type: "string", default: "sasl1" },
    label: { type: "string", default: "" },
    "server-pid": { type: "string" },
    users: { type: "string", default: "200" },
    concurrency: { type: "string", default: "20" },
    seconds: { type: "string", default: "10" },
    presence: { type: "boolean", default: false },
  },
});
const target: Target = { host: a.host!, port: Number(a.port), domain: a.domain! };
const users = Array.from({ length: Number(a.users) }, (_, i) => `login${i + 1}`);
const C = Math.min(Number(a.concurrency), users.length);
const serverPid = a["server-pid"] ? Number(a["server-pid"]) : undefined;
const started = new Date().toISOString();
const base = { label: a.label, scenario: a.scenario, started, port: target.port };
const emit = (o: Record<string, unknown>) => {
  console.log(JSON.stringify({ ...base, ...o }));
  Deno.exit(0); // sockets closing may hold the loop open a moment; the result is out
};

if (a.scenario === "prepare") {
  let created = 0;
  await pool(users, C, async (u) => {
    if (await register(target, u)) created++;
  });
  emit({ created, existed: users.length - created });
}

// Does the server offer what the scenario needs? (one probe connection)
const isFast = a.scenario === "fast" || a.scenario === "fastrot";
if (isFast || a.scenario === "scram2") {
  const probe = await secured(target);
  const offer = sasl2Offer(probe);
  probe.close();
  // Both SASL2 scenarios log in (or fetch their token) by SCRAM-SHA-256.
  if (
    !offer.mechanisms.includes("SCRAM-SHA-256") ||
    (isFast && !offer.fast.includes(FAST_MECH))
  ) {
    emit({ skipped: "SASL2/FAST not offered", offer });
  }
}

const uaIds = new Map<string, string>();
for (const u of users) uaIds.set(u, await userAgentId(u));
const tokens = new Map<string, FastToken>();
let rotations = 0;

async function fetchToken(u: string): Promise<void> {
  const c = await secured(target);
  try {
    const r = await loginSasl2(c, u, {
      userAgentId: uaIds.get(u)!,
      mechanism: "SCRAM-SHA-256",
      password: "pw",
      requestToken: true,
    });
    if (!r.token) throw new Error(`${u}: no FAST token issued`);
    tokens.set(u, r.token);
  } finally {
    c.close();
  }
}

let setupSecs = 0;
if (isFast) {
  const t0 = performance.now();
  await pool(users, C, fetchToken);
  setupSecs = Math.round((performance.now() - t0) / 100) / 10;
}

async function loginOnce(u: string): Promise<void> {
  const c = await secured(target);
  try {
    if (a.scenario === "sasl1") await loginSasl1(c, u, "pw");
    else if (a.scenario === "tls") return;
    else {
      const r = await loginSasl2(c, u, {
        userAgentId: uaIds.get(u)!,
        mechanism: isFast ? FAST_MECH : "SCRAM-SHA-256",
        password: "pw",
        token: tokens.get(u),
        requestToken: a.scenario === "fastrot",
      });
      if (isFast && r.token && r.token.token !== tokens.get(u)?.token) {
        tokens.set(u, r.token);
        rotations++;
      }
    }
    if (a.presence) c.send("<presence/>");
  } finally {
    c.close();
  }
}

const times: number[] = [];
const errors: string[] = [];
let failures = 0;
let refetches = 0;
const seconds = Number(a.seconds);
// One warm-up second (TLS, JIT, caches), not measured.
for (const [phase, secs] of [["warm", 1], ["measure", seconds]] as const) {
  const end = performance.now() + secs * 1000;
  const meter = phase === "measure" ? cpuMeter(serverPid) : undefined;
  const t0 = performance.now();
  const measured = phase === "measure";
  await Promise.all(Array.from({ length: C }, async (_, w) => {
    const mine = users.filter((_, i) => i % C === w);
    for (let k = 0; performance.now() < end; k++) {
      const u = mine[k % mine.length];
      const s = performance.now();
      try {
        await loginOnce(u);
        if (measured) times.push(performance.now() - s);
      } catch (e) {
        if (measured) failures++;
        if (errors.length < 5) errors.push(String(e).slice(0, 300));
        // A refused token (expired, revoked): a password login gets a new one.
        if (isFast) {
          refetches++;
          await fetchToken(u).catch(() => {});
        }
      }
    }
  }));
  if (!meter) continue;
  const cpu = meter();
  const wall = (performance.now() - t0) / 1000;
  const sorted = times.sort((x, y) => x - y);
  const r2 = (x: number) => Math.round(x * 100) / 100;
  const perSec = sorted.length / wall;
  emit({
    users: users.length,
    concurrency: C,
    presence: a.presence,
    logins: sorted.length,
    loginsPerSec: Math.round(perSec * 10) / 10,
    p50: r2(percentile(sorted, 50)),
    p99: r2(percentile(sorted, 99)),
    failures,
    rotations,
    refetches,
    setupSecs,
    ...cpu,
    serverCpuMsPerLogin: r2((cpu.serverCpu * wall * 1000) / sorted.length),
    genCpuMsPerLogin: r2((cpu.genCpu * wall * 1000) / sorted.length),
    errors,
  });
}
