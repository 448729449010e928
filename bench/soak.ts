/**
 * Soak benchmark (manual, not in CI): a steady mix of logins, messages,
 * presence changes and disconnects against a Parley subprocess for a
 * bounded time, sampling the server's RSS and how long it takes to answer
 * (a XEP-0199 ping every 250 ms from an otherwise idle client: an upper
 * bound on the server's event-loop delay). The report shows, per window,
 * RSS, CPU, message and ping latency; its verdict compares the last third
 * of the run with the middle third (memory on a plateau?) and the first
 * third (p99 flat?), and how much memory the server gave back once the
 * churning sessions were gone.
 *
 *   deno run -A bench/soak.ts [--minutes 10] [--online 200] [--churn 100]
 *     [--msg-rate 200] [--presence-rate 20] [--login-rate 5] [--window 30] [--out FILE]
 *
 * The server's config is bench_config.ts's (only c2s, on 127.0.0.1; the
 * per-address limits lifted, since every client comes from 127.0.0.1).
 * Storage is SQLite in a temporary directory, TLS and SCRAM as a client
 * would use them; everything runs on 127.0.0.1 and every loop is bounded
 * by the run's duration.
 */
import * as net from "node:net";
import { parseArgs } from "node:util";
import { TestClient } from "../tests/helpers/client.ts";
import { benchConfigInput } from "./bench_config.ts";
import type { Frame } from "../src/xml/parser.ts";

const { values: opts } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    online: { type: "string", default: "200" },
    churn: { type: "string", default: "100" },
    "msg-rate": { type: "string", default: "200" },
    "presence-rate": { type: "string", default: "20" },
    "login-rate": { type: "string", default: "5" },
    window: { type: "string", default: "30" },
    contacts: { type: "string", default: "5" },
    out: { type: "string" },
  },
});
const MINUTES = Number(opts.minutes);
const ONLINE = Number(opts.online);
const CHURN = Number(opts.churn);
const MSG_RATE = Number(opts["msg-rate"]);
const PRESENCE_RATE = Number(opts["presence-rate"]);
const LOGIN_RATE = Number(opts["login-rate"]);
const WINDOW_S = Number(opts.window);
/** Contacts on each side in the ring of online users (mutual subscriptions). */
const RING = Number(opts.contacts);
const DOMAIN = "localhost"; // the one host bench_config.ts serves
const PASSWORD = "pw";
/** A churning session stays this long (uniformly), then disconnects. */
const STAY_MS: [number, number] = [5_000, 30_000];

const root = new URL("..", import.meta.url).pathname;
const log = (msg: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const rand = (n: number) => Math.floor(Math.random() * n);

// ---------------------------------------------------------------- the server

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function deno(args: string[]): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), { args, cwd: root }).output();
  if (!out.success) {
    throw new Error(`deno ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

const dataDir = await Deno.makeTempDir({ prefix: "parley-soak-" });
const port = await freePort();
const configPath = `${dataDir}/config.json`;
await Deno.writeTextFile(configPath, JSON.stringify(benchConfigInput(port, dataDir)));
log(`seeding ${ONLINE} + ${CHURN} accounts in ${dataDir}`);
await deno(["run", "-A", "bench/seed_users.ts", configPath, String(ONLINE), DOMAIN, "soak", "0"]);
await deno(["run", "-A", "bench/seed_users.ts", configPath, String(CHURN), DOMAIN, "churn", "0"]);

const server = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", "main.ts", "serve", "-c", configPath],
  cwd: root,
  stdout: "null",
  stderr: "inherit",
}).spawn();
const pid = server.pid;
// Whatever ends this tool (an error included) must not leave the server running.
const killServer = () => {
  try {
    server.kill("SIGKILL");
  } catch { /* already gone */ }
};
for (const event of ["unload", "error", "unhandledrejection"]) {
  globalThis.addEventListener(event, killServer);
}
for (let i = 0; i < 300; i++) {
  const up = await new Promise<boolean>((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
  if (up) break;
  await sleep(100);
}

function rssKb(): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

function cpuTicks(): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

// ---------------------------------------------------------------- measurements

class Window {
  msgLatency: number[] = [];
  pingLatency: number[] = [];
  loginLatency: number[] = [];
  sent = 0;
  received = 0;
  logins = 0;
  loginFailures = 0;
  disconnects = 0;
  presences = 0;
  errors = 0;
}

let win = new Window();

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** Counts what arrives for one client and records message latency. */
function tapFor(c: TestClient, measured: boolean): (f: Frame) => boolean {
  return (f) => {
    if (f.kind !== "stanza") return false;
    const e = f.element;
    if (e.name === "message") {
      const body = e.getChildText("body");
      // Only online users' messages count: a churning user also gets offline ones, sent long before.
      if (measured && body?.startsWith("t=")) {
        win.received++;
        win.msgLatency.push(performance.now() - Number(body.slice(2)));
      }
      if (e.attrs.type === "error") win.errors++;
      return true;
    }
    // Presence, roster pushes and iq results are consumed here, except what
    // a waiting login step asks for (bind and roster replies have ids).
    if (e.name === "presence") return true;
    if (e.name === "iq" && e.attrs.type === "set") {
      c.send(`<iq type='result' id='${e.attrs.id}' to='${e.attrs.from ?? ""}'/>`);
      return true;
    }
    return false;
  };
}

async function login(user: string, resource: string): Promise<TestClient> {
  const t0 = performance.now();
  const c = await TestClient.login({
    port,
    user,
    password: PASSWORD,
    resource,
    mechanism: "SCRAM-SHA-1",
    presence: false,
  });
  c.tap = tapFor(c, user.startsWith("soak"));
  c.send(`<iq type='get' id='roster0'><query xmlns='jabber:iq:roster'/></iq>`);
  await c.stanza((e) => e.attrs.id === "roster0");
  c.send("<presence/>");
  win.loginLatency.push(performance.now() - t0);
  win.logins++;
  return c;
}

// ---------------------------------------------------------------- set-up

const online: TestClient[] = [];
for (let i = 0; i < ONLINE; i += 20) {
  const batch = [];
  for (let j = i; j < Math.min(ONLINE, i + 20); j++) batch.push(login(`soak${j}`, "r"));
  online.push(...await Promise.all(batch));
}
const churnSessions = new Map<number, TestClient>();
log(`${online.length} online; building rosters (${RING} contacts each side)`);

/** Mutual subscription: both requests and both approvals (pre-approvals if early). */
function befriend(a: TestClient, aJid: string, b: TestClient, bJid: string): void {
  a.send(`<presence type='subscribe' to='${bJid}'/>`);
  b.send(`<presence type='subscribed' to='${aJid}'/>`);
  b.send(`<presence type='subscribe' to='${aJid}'/>`);
  a.send(`<presence type='subscribed' to='${bJid}'/>`);
}
const bare = (user: string) => `${user}@${DOMAIN}`;
for (let i = 0; i < ONLINE; i++) {
  for (let k = 1; k <= RING; k++) {
    const j = (i + k) % ONLINE;
    if (j !== i) befriend(online[i], bare(`soak${i}`), online[j], bare(`soak${j}`));
  }
}
// Each churning user has three online contacts, so its logins probe and broadcast.
for (let i = 0; i < CHURN; i += 20) {
  const batch = [];
  for (let j = i; j < Math.min(CHURN, i + 20); j++) {
    batch.push(
      login(`churn${j}`, "c").then((c) => {
        for (let k = 0; k < 3; k++) {
          const o = (j * 7 + k * 13) % ONLINE;
          befriend(c, bare(`churn${j}`), online[o], bare(`soak${o}`));
        }
        return c;
      }),
    );
  }
  for (const c of await Promise.all(batch)) setTimeout(() => c.close(), 3000);
}
await sleep(4000);
log("rosters built; starting the steady load");

// ---------------------------------------------------------------- steady load

const runMs = MINUTES * 60_000;
const start = performance.now();
const end = start + runMs;
let msgCredit = 0, presenceCredit = 0, loginCredit = 0;
const SHOWS = ["away", "chat", "dnd", "xa"];

async function churnOnce(i: number): Promise<void> {
  try {
    const c = await login(`churn${i}`, "c");
    churnSessions.set(i, c);
    const o = (i * 7) % ONLINE;
    c.send(
      `<message to='${bare(`soak${o}`)}' type='chat'><body>t=${performance.now()}</body></message>`,
    );
    win.sent++;
    await sleep(STAY_MS[0] + rand(STAY_MS[1] - STAY_MS[0]));
    churnSessions.delete(i);
    // Some leave cleanly, some drop the connection as a phone losing signal does.
    if (Math.random() < 0.7) c.close();
    else c.socket.destroy();
    win.disconnects++;
  } catch (e) {
    churnSessions.delete(i);
    win.loginFailures++;
    log(`churn${i}: ${(e as Error).message.slice(0, 120)}`);
  }
}

function tick(dtMs: number): void {
  msgCredit += (MSG_RATE * dtMs) / 1000;
  presenceCredit += (PRESENCE_RATE * dtMs) / 1000;
  loginCredit += (LOGIN_RATE * dtMs) / 1000;
  for (; msgCredit >= 1; msgCredit--) {
    const i = rand(ONLINE);
    // Nine in ten go to an online contact (measured); one in ten to a churning user, often offline.
    const to = Math.random() < 0.9
      ? bare(`soak${(i + 1 + rand(RING)) % ONLINE}`)
      : bare(`churn${rand(CHURN)}`);
    online[i].send(
      `<message to='${to}' type='chat' id='m${
        rand(1e9)
      }'><body>t=${performance.now()}</body></message>`,
    );
    if (to.startsWith("soak")) win.sent++;
  }
  for (; presenceCredit >= 1; presenceCredit--) {
    online[rand(ONLINE)].send(
      `<presence><show>${SHOWS[rand(SHOWS.length)]}</show><status>${rand(1e6)}</status></presence>`,
    );
    win.presences++;
  }
  for (; loginCredit >= 1; loginCredit--) {
    if (churnSessions.size >= CHURN) break;
    let i = rand(CHURN);
    for (let n = 0; churnSessions.has(i) && n < CHURN; n++) i = (i + 1) % CHURN;
    churnSessions.set(i, undefined as unknown as TestClient);
    void churnOnce(i);
  }
}

// The probe: its own session, idle but for the pings.
const probe = await login("soak0", "probe");
let pingSeq = 0;
const pingSent = new Map<string, number>();
probe.tap = (f) => {
  if (f.kind === "stanza" && f.element.name === "iq" && pingSent.has(f.element.attrs.id)) {
    const id = f.element.attrs.id;
    win.pingLatency.push(performance.now() - pingSent.get(id)!);
    pingSent.delete(id);
    return true;
  }
  return f.kind === "stanza";
};

interface Row {
  t: number;
  rssMb: number;
  cpu: number;
  w: Window;
}
const rows: Row[] = [];
let lastCpu = cpuTicks();
let lastSample = performance.now();

function sample(): void {
  const now = performance.now();
  const cpu = cpuTicks();
  rows.push({
    t: Math.round((now - start) / 1000),
    rssMb: rssKb() / 1024,
    cpu: (100 * (cpu - lastCpu)) / ((now - lastSample) / 10), // 10 ms ticks: percent of one core
    w: win,
  });
  lastCpu = cpu;
  lastSample = now;
  const r = rows.at(-1)!;
  log(
    `t=${r.t}s rss=${r.rssMb.toFixed(1)}MB cpu=${
      r.cpu.toFixed(0)
    }% msgs ${r.w.sent}/${r.w.received} ` +
      `p99=${percentile(r.w.msgLatency, 99).toFixed(1)}ms ping p99=${
        percentile(r.w.pingLatency, 99).toFixed(1)
      }ms logins=${r.w.logins} failed=${r.w.loginFailures}`,
  );
  win = new Window();
}

let last = performance.now();
let nextPing = last;
let nextSample = last + WINDOW_S * 1000;
// Stop sending two seconds early so what is in flight arrives inside the run.
while (performance.now() < end) {
  await sleep(20);
  const now = performance.now();
  if (now < end - 2000) tick(now - last);
  last = now;
  if (now >= nextPing) {
    const id = `ping${pingSeq++}`;
    pingSent.set(id, now);
    if (pingSent.size > 1000) pingSent.clear(); // a server that stopped answering must not grow this
    probe.send(`<iq type='get' id='${id}' to='${DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>`);
    nextPing = now + 250;
  }
  if (now >= nextSample) {
    sample();
    nextSample += WINDOW_S * 1000;
  }
}
sample();

// ---------------------------------------------------------------- after the load

log("load stopped; waiting for churning sessions to end, then 30 s of quiet");
for (let i = 0; i < 40 && churnSessions.size > 0; i++) await sleep(1000);
for (const c of churnSessions.values()) c?.socket.destroy();
const rssLoaded = rows.at(-1)!.rssMb;
await sleep(30_000);
const rssQuiet = rssKb() / 1024;
for (const c of [...online, probe]) c.close();
await sleep(5000);
const rssEmpty = rssKb() / 1024;
server.kill("SIGTERM");
await server.status;
await Deno.remove(dataDir, { recursive: true }).catch(() => {});

// ---------------------------------------------------------------- report

const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const thirds = (xs: Row[]) => {
  const n = xs.length;
  return [
    xs.slice(0, Math.floor(n / 3)),
    xs.slice(Math.floor(n / 3), Math.floor((2 * n) / 3)),
    xs.slice(Math.floor((2 * n) / 3)),
  ];
};
// The first window holds the warm-up (V8 compiling, heap growing): left out of the verdict.
const [first, middle, lastThird] = thirds(rows.slice(1));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const p99Of = (rs: Row[]) => percentile(rs.flatMap((r) => r.w.msgLatency), 99);
const pingP99Of = (rs: Row[]) => percentile(rs.flatMap((r) => r.w.pingLatency), 99);
const rssGrowth = (mean(lastThird.map((r) => r.rssMb)) / mean(middle.map((r) => r.rssMb)) - 1) *
  100;
const sent = rows.reduce((a, r) => a + r.w.sent, 0);
const received = rows.reduce((a, r) => a + r.w.received, 0);

const lines = [
  `# Soak: ${MINUTES} min, ${ONLINE} online users (${2 * RING} contacts each), ${CHURN} churning`,
  "",
  `Load: ${MSG_RATE} msgs/s, ${PRESENCE_RATE} presence changes/s, ${LOGIN_RATE} logins/s ` +
  `(each churning session stays ${STAY_MS[0] / 1000}–${STAY_MS[1] / 1000} s; 30% drop the TCP ` +
  `connection without closing the stream). TLS + SCRAM-SHA-1, SQLite. Measured ${
    new Date().toISOString().slice(0, 10)
  } ` +
  `with \`deno run -A bench/soak.ts --minutes ${MINUTES}\`.`,
  "",
  "| t (s) | RSS (MB) | CPU (% of a core) | msgs sent/recv | msg p50 / p99 (ms) | ping p50 / p99 / max (ms) | logins (failed) |",
  "| ----- | -------- | ----------------- | -------------- | ------------------ | ------------------------- | --------------- |",
  ...rows.map((r) =>
    `| ${r.t} | ${fmt(r.rssMb)} | ${fmt(r.cpu, 0)} | ${r.w.sent} / ${r.w.received} | ` +
    `${fmt(percentile(r.w.msgLatency, 50))} / ${fmt(percentile(r.w.msgLatency, 99))} | ` +
    `${fmt(percentile(r.w.pingLatency, 50))} / ${fmt(percentile(r.w.pingLatency, 99))} / ` +
    `${fmt(Math.max(...r.w.pingLatency))} | ${r.w.logins} (${r.w.loginFailures}) |`
  ),
  "",
  `- Memory: mean RSS of the last third ${rssGrowth >= 0 ? "+" : ""}${
    fmt(rssGrowth)
  }% against the middle third ` +
  `(${fmt(mean(middle.map((r) => r.rssMb)))} → ${fmt(mean(lastThird.map((r) => r.rssMb)))} MB): ` +
  // Falling is fine (V8 gives heap back after a major GC); only growth would be a leak.
  `${rssGrowth < 5 ? "no growth, a plateau" : "GROWING"}.`,
  `- After the load: ${fmt(rssLoaded)} MB at the end, ${
    fmt(rssQuiet)
  } MB after 30 s of quiet with ` +
  `${ONLINE} sessions still online, ${fmt(rssEmpty)} MB with every session closed.`,
  `- Message latency p99: first third ${fmt(p99Of(first))} ms, middle ${fmt(p99Of(middle))} ms, ` +
  `last ${fmt(p99Of(lastThird))} ms; ping p99 ${fmt(pingP99Of(first))} / ${
    fmt(pingP99Of(middle))
  } / ` +
  `${fmt(pingP99Of(lastThird))} ms.`,
  `- Messages between online users: ${sent} sent, ${received} received (${
    sent - received
  } missing).`,
];
const report = lines.join("\n") + "\n";
console.log(report);
if (opts.out) await Deno.writeTextFile(opts.out, report);
Deno.exit(0);
