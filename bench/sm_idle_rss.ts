/**
 * RSS cost of an idle session with stream management (XEP-0198, resumable)
 * against a plain one (manual, not in CI). Each round starts a fresh
 * Parley subprocess, logs in N clients over STARTTLS + PLAIN, and on
 * every session does the same traffic: one ping to the server, answered;
 * the SM round enables resumption first and acks the answer, so its
 * outbox has kept (and dropped) a stanza like a real client's. The cost
 * per session is (RSS with N idle sessions − RSS before) / N, medians of
 * a few samples; plain and SM rounds alternate.
 *
 *   deno run -A bench/sm_idle_rss.ts [--sessions 1000] [--rounds 2] [--out FILE]
 */
import { parseArgs } from "node:util";
import { TestClient } from "../tests/helpers/client.ts";
import { startServerProcess } from "../tests/helpers/server_process.ts";

const { values: opts } = parseArgs({
  options: {
    sessions: { type: "string", default: "1000" },
    rounds: { type: "string", default: "2" },
    out: { type: "string" },
  },
});
const N = Number(opts.sessions);
const ROUNDS = Number(opts.rounds);
const CONCURRENCY = 16;
/** Sessions logged in before the baseline: JIT, TLS and pools warmed up. */
const WARM_UP = 200;
const SM = "urn:xmpp:sm:3";
/**
 * V8's young generation (semi-spaces up to 16 MiB each by default) holds
 * garbage whose amount depends on when the last scavenge ran: tens of MB
 * of RSS noise between rounds, more than the difference measured. A
 * 1 MiB semi-space keeps that noise small; both kinds of round get it.
 */
const SERVER_FLAGS = "--v8-flags=--max-semi-space-size=1";
Deno.env.set("PARLEY_PROC_FLAGS", SERVER_FLAGS);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (msg: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);

async function medianRss(rss: () => Promise<number>, samples = 5): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) {
    values.push(await rss());
    await sleep(500);
  }
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)];
}

async function session(port: number, i: number, sm: boolean): Promise<TestClient> {
  const c = await TestClient.login({
    port,
    user: `u${i}`,
    password: "pw",
    resource: "r",
    mechanism: "PLAIN",
    presence: false,
  });
  if (sm) {
    c.send(`<enable xmlns='${SM}' resume='true'/>`);
    await c.stanza((e) => e.name === "enabled");
  }
  c.send(`<iq type='get' id='p' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
  await c.stanza((e) => e.attrs.id === "p");
  if (sm) c.send(`<a xmlns='${SM}' h='1'/>`);
  // Keep no frames: an idle client's inbox should not grow the bench's own memory.
  c.frames.length = 0;
  return c;
}

async function round(sm: boolean): Promise<number> {
  const server = await startServerProcess({
    c2s: { maxConnectionsPerIp: N + WARM_UP + 100, maxUnauthenticatedPerIp: CONCURRENCY * 2 },
    ping: { idleSeconds: 0 },
  });
  const clients: TestClient[] = [];
  try {
    const login = async (from: number, count: number) => {
      let next = from;
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next < from + count) {
          const i = next++;
          clients.push(await session(server.ports.c2s, i, sm));
        }
      }));
    };
    await login(0, WARM_UP);
    await sleep(2000);
    const before = await medianRss(() => server.rssKb());
    await login(WARM_UP, N);
    await sleep(2000);
    const after = await medianRss(() => server.rssKb());
    const perSession = (after - before) / N;
    log(
      `${sm ? "sm   " : "plain"}: ${before} KiB → ${after} KiB, ${
        perSession.toFixed(2)
      } KiB/session`,
    );
    return perSession;
  } finally {
    for (const c of clients) c.socket.destroy();
    await server.stop();
  }
}

const plain: number[] = [];
const withSm: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  plain.push(await round(false));
  withSm.push(await round(true));
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(", ");
const diff = mean(withSm) - mean(plain);
const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
const report = `# RSS of an idle SM session vs a plain one

\`deno run -A bench/sm_idle_rss.ts --sessions ${N} --rounds ${ROUNDS}\` on ${
  new Date().toISOString().slice(0, 10)
}: a fresh server process per round, ${N} idle STARTTLS sessions, each having
answered one ping (SM rounds: resumption enabled and the answer acked), measured
after ${WARM_UP} sessions of the same kind warmed the server up; server run with
\`${SERVER_FLAGS}\` (young-generation garbage otherwise adds tens of MB of noise).

| round kind | KiB per session (each round) | mean |
| --- | --- | --- |
| plain | ${fmt(plain)} | ${mean(plain).toFixed(2)} |
| SM enabled (resumable) | ${fmt(withSm)} | ${mean(withSm).toFixed(2)} |

SM costs **${diff.toFixed(2)} KiB** more per idle session (target: at most 2 KB).
Round-to-round spread (max − min): plain ${spread(plain).toFixed(2)}, SM ${
  spread(withSm).toFixed(2)
} KiB per session: the RSS measure cannot resolve less than that; the heap
cost of the SM state itself is measured exactly by \`bench/sm_state_heap.ts\`.
`;
console.log(report);
if (opts.out) await Deno.writeTextFile(opts.out, report);
