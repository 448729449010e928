/**
 * RSS per idle logged-in session: N WebSocket sessions (RFC 7395) against
 * N TCP sessions with STARTTLS, each kind on a fresh server process
 * (bench/ws_server.ts). Every session logs in (PLAIN), binds and sends its
 * initial presence, then sits idle; the figure is the server's RSS growth
 * divided by N, after a warm-up and a pause for idle parser compaction.
 *
 *   deno run -A bench/ws_idle_rss.ts [N=2000]
 */
import { TestClient } from "../tests/helpers/client.ts";
import { WsTestClient } from "../tests/helpers/websocket_client.ts";

const N = Number(Deno.args[0] ?? 2000);
const BATCH = 50;
const SETTLE_MS = 6000;

interface Child {
  pid: number;
  ports: { c2s: number; ws: number };
  kill(): Promise<void>;
}

async function spawnServer(): Promise<Child> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./ws_server.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("server exited");
    text += value;
  }
  // Keep draining stdout so the child never blocks on it.
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  return {
    pid: child.pid,
    ports: JSON.parse(text.split("\n")[0]),
    async kill() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

async function rssKb(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Login = (i: number) => Promise<{ drop(): void }>;

async function measure(kind: string, login: (ports: Child["ports"]) => Login) {
  const server = await spawnServer();
  const open = login(server.ports);
  const clients: { drop(): void }[] = [];
  // Warm-up: code paths compiled, pools allocated, before the baseline.
  for (let i = 0; i < 50; i++) clients.push(await open(N + i));
  await sleep(SETTLE_MS);
  const before = await rssKb(server.pid);
  for (let i = 0; i < N; i += BATCH) {
    const batch = [];
    for (let j = i; j < Math.min(N, i + BATCH); j++) batch.push(open(j));
    clients.push(...await Promise.all(batch));
  }
  await sleep(SETTLE_MS);
  const after = await rssKb(server.pid);
  const perSession = ((after - before) * 1024) / N / 1000;
  console.log(
    `${kind}: ${N} idle sessions, server RSS ${before} → ${after} KiB: ` +
      `${perSession.toFixed(1)} KB per session`,
  );
  for (const c of clients) c.drop();
  await server.kill();
  return { kind, before, after, perSession };
}

const ws = await measure("websocket", (ports) => async (i) => {
  const c = await WsTestClient.login(`ws://127.0.0.1:${ports.ws}/xmpp-websocket`, {
    user: "u" + i,
    password: "pw",
    mechanism: "PLAIN",
    resource: "r",
  });
  return { drop: () => c.abort() };
});
const tcp = await measure("tcp+starttls", (ports) => async (i) => {
  const c = await TestClient.login({
    port: ports.c2s,
    user: "u" + i,
    password: "pw",
    mechanism: "PLAIN",
    resource: "r",
  });
  return { drop: () => c.socket.destroy() };
});
console.log(JSON.stringify({ n: N, results: [ws, tcp] }));
Deno.exit(0);
