/**
 * The pubsub service's first listing after a start, against SQLite:
 * disco#items of the service, "my subscriptions", "my affiliations" and a
 * create (which counts nodes against `pubsub.maxNodes`), each as the first
 * request of a freshly started server, so the node records are read cold.
 *
 *   deno run -A bench/pubsub_cold_listing.ts [--nodes 10000] [--items 20]
 *     [--format bytes|sizes] [--dir /tmp/parley-pubsub-10000x20-bytes] [--reps 3]
 *
 * Measured in the server's own process (the client is in-process too): the
 * longest gap between two turns of a setImmediate ticker while the request
 * is answered — the longest the event loop was held at once — and the
 * request's round trip. Besides, the same listings with the scope warm.
 *
 * The data directory is built on first use and reused by later runs with
 * the same --dir: nodes as the service stores them (open access, one
 * owner each, spread over 100 owners, every tenth with a subscriber), each
 * with `--items` items of ~200 bytes and their extras record. `--format`:
 * the items' payload sizes as the engine stores them now (`bytes`, an
 * array) or as it stored them before (`sizes`, an object by item id).
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { SqliteStorage } from "../src/storage/sqlite.ts";
import type { Json } from "../src/storage/types.ts";
import { DEFAULT_CONFIG, type StoredNode } from "../src/modules/pubsub/engine/index.ts";
import { login, ps, PUBSUB, startPubsubServer } from "../tests/helpers/pubsub.ts";
import { iq, type TestClient } from "../tests/helpers/client.ts";

const { values: opts } = parseArgs({
  options: {
    nodes: { type: "string", default: "10000" },
    items: { type: "string", default: "20" },
    dir: { type: "string" },
    reps: { type: "string", default: "3" },
    format: { type: "string", default: "bytes" },
  },
});
const NODES = Number(opts.nodes);
const ITEMS = Number(opts.items);
const REPS = Number(opts.reps);
const FORMAT = opts.format === "sizes" ? "sizes" : "bytes";
const DIR = opts.dir ?? `/tmp/parley-pubsub-${NODES}x${ITEMS}-${FORMAT}`;
const DB = "parley.sqlite";

const owner = (i: number) => `owner${i % 100}@localhost`;

async function build(): Promise<void> {
  try {
    await Deno.stat(join(DIR, DB));
    return;
  } catch {
    // Not built yet.
  }
  await Deno.mkdir(DIR, { recursive: true });
  const db = new SqliteStorage(join(DIR, DB));
  const nodes = db.map(PUBSUB, "pubsub_nodes");
  const items = db.map(PUBSUB, "pubsub_items");
  const extras = db.map(PUBSUB, "pubsub_extras");
  const payload = `<entry xmlns='urn:bench'>${"x".repeat(170)}</entry>`;
  const started = performance.now();
  for (let n = 0; n < NODES; n++) {
    const name = `node-${String(n).padStart(6, "0")}`;
    const ids: string[] = [];
    const sizes: Record<string, number> = {};
    for (let i = 0; i < ITEMS; i++) {
      const id = crypto.randomUUID().replaceAll("-", "").slice(0, 16);
      ids.push(id);
      sizes[id] = payload.length;
      await items.set("", name + "\n" + id, {
        id,
        payload,
        publisher: owner(n),
        when: Date.now(),
      });
    }
    const subscriber: Record<string, "subscribed"> = n % 10 === 0
      ? { "alice@localhost": "subscribed" }
      : {};
    const record: StoredNode & { sizes?: Record<string, number> } = {
      name,
      config: { ...DEFAULT_CONFIG, access_model: "open", max_items: 20, title: `Node ${n}` },
      affiliations: { [owner(n)]: "owner" },
      subscriptions: subscriber,
      items: ids,
      ...FORMAT === "sizes" ? { sizes } : { bytes: ids.map((id) => sizes[id]) },
      created: Date.now(),
    };
    await nodes.set("", name, record as unknown as Json);
    await extras.set("", name, {
      itemreply: "owner",
      subs: n % 10 === 0 ? { "alice@localhost": { subid: `s${n}`, deliver: true } } : {},
    });
    if (n % 500 === 499) await new Promise((r) => setTimeout(r, 0));
  }
  await db.close();
  console.error(`built ${NODES} nodes × ${ITEMS} items in ${(performance.now() - started) | 0} ms`);
}

interface Measure {
  /** The longest gap between two turns (ms). */
  block: number;
  /** The median gap longer than 0.5 ms: a typical step of the work. */
  step: number;
  total: number;
}

/**
 * The gaps between turns while `work` runs, and its duration. On a shared
 * machine a gap also holds time the process was not scheduled at all:
 * hence the minimum over starts besides the median.
 */
async function measured(work: () => Promise<unknown>): Promise<Measure> {
  let last = performance.now();
  const gaps: number[] = [];
  let running = true;
  const tick = () => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const start = performance.now();
  await work();
  const total = performance.now() - start;
  running = false;
  gaps.push(performance.now() - last);
  if (Deno.env.get("GAPS")) {
    console.error(gaps.filter((g) => g > 1).map((g) => g.toFixed(1)).join(" "));
  }
  const steps = gaps.filter((g) => g > 0.5).sort((a, b) => a - b);
  return { block: Math.max(...gaps), step: steps[steps.length >> 1] ?? 0, total };
}

const REQUESTS: Record<string, (c: TestClient) => Promise<unknown>> = {
  "disco#items": (c) => {
    const id = "d" + crypto.randomUUID();
    return iq(
      c,
      id,
      `<iq type='get' id='${id}' to='${PUBSUB}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`,
    );
  },
  "my subscriptions": (c) => ps(c, "get", `<subscriptions/>`),
  "my affiliations": (c) => ps(c, "get", `<affiliations/>`),
  "create": (c) => ps(c, "set", `<create node='new-${crypto.randomUUID()}'/>`),
};

await build();
const rows: string[] = [];
for (const [name, request] of Object.entries(REQUESTS)) {
  const cold: Measure[] = [];
  const warm: Measure[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const server = await startPubsubServer({
      dataDir: DIR,
      storage: { driver: "sqlite", path: DB },
      pubsub: { maxNodes: NODES + 1000 },
    });
    try {
      const alice = await login(server, "alice");
      // Let the start's own work settle before measuring.
      await new Promise((r) => setTimeout(r, 200));
      const reply = (r: unknown) => {
        const type = (r as { attrs: Record<string, string> }).attrs.type;
        if (type !== "result") throw new Error(`${name}: ${type}`);
      };
      cold.push(await measured(async () => reply(await request(alice))));
      warm.push(await measured(async () => reply(await request(alice))));
      alice.close();
    } finally {
      // close(), not stop(): stop() removes the data directory.
      await server.close();
    }
  }
  const pick = (xs: Measure[], k: keyof Measure, at: "min" | "med") => {
    const sorted = xs.map((x) => x[k]).sort((a, b) => a - b);
    return sorted[at === "min" ? 0 : sorted.length >> 1].toFixed(1);
  };
  rows.push(
    `| ${name} | ${pick(cold, "block", "min")} / ${pick(cold, "block", "med")} | ${
      pick(cold, "step", "med")
    } | ${pick(cold, "total", "med")} | ${pick(warm, "block", "med")} | ${
      pick(warm, "total", "med")
    } |`,
  );
  console.error(`${name}: cold ${JSON.stringify(cold)}`);
}
console.log(`${NODES} nodes × ${ITEMS} items (${FORMAT}), ${REPS} starts (ms):\n`);
console.log(
  "| request | cold: longest block, min / median | cold: median step | cold: total | warm: longest block | warm: total |",
);
console.log("|---|---:|---:|---:|---:|---:|");
for (const r of rows) console.log(r);
