/**
 * Fuzzing stream negotiation through real sockets against a running
 * server: valid c2s, s2s and component sessions (tests/helpers/fuzz.ts),
 * mutated — deep nesting, huge and numerous attributes, long names,
 * splices of other sessions, truncation, repeated headers, mismatched
 * end tags, byte flips, invalid UTF-8 — and written in random chunks
 * with random pauses, several connections at a time.
 *
 * Whatever the server answers is fine; it must not crash, and every run
 * ends with a normal login succeeding on the same server.
 *
 * Runs 3 s in CI. Longer: `PARLEY_FUZZ_SECONDS=600 deno test -A
 * tests/integration/fuzz_test.ts`; replay a failure with the seed it
 * prints: `PARLEY_FUZZ_SEED=<seed>` (the server's timing still varies).
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  chunkSizes,
  fuzzSeconds,
  fuzzSeed,
  mutate,
  Rng,
  SESSIONS,
  toBytes,
  WHOLE_SESSIONS as ALL,
} from "../helpers/fuzz.ts";

/** Connections fuzzing at once. */
const PARALLEL = 4;
/** Longest a connection lives: the server need not answer or close it. */
const SESSION_MS = 400;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Plan {
  port: number;
  /** What to write, in order, with a pause (ms) after each. */
  writes: { bytes: Uint8Array; pause: number }[];
  /** Wait for answers (or the close) at the end. */
  linger: boolean;
}

/**
 * Everything random about a session, drawn before it runs, so that a
 * worker's sessions depend only on the seed, not on the server's timing.
 */
function plan(server: TestServer, rng: Rng): Plan {
  const kind = rng.pick(["c2s", "c2s", "c2s", "s2s", "component"] as const);
  const port = kind === "c2s"
    ? server.ports.c2s
    : kind === "s2s"
    ? server.ports.s2s
    : server.ports.component;
  const pieces = rng.pick(SESSIONS[kind]);
  // Mutate the whole session, or keep its pieces apart so a restart can
  // happen between them (a pipelined restart is not XMPP).
  // In pieces, one is mutated (or none: a valid session goes deep).
  const mutated = rng.chance(0.25) ? -1 : rng.int(pieces.length);
  const texts = rng.chance(0.5)
    ? [mutate(pieces.join(""), rng, ALL)]
    : pieces.map((p, i) => i === mutated ? mutate(p, rng, ALL) : p);
  const writes: Plan["writes"] = [];
  for (const [i, text] of texts.entries()) {
    // Invalid UTF-8 or flipped bits only where the text was mutated.
    const bytes = toBytes(text, rng, texts.length === 1 || i === mutated ? undefined : false);
    const sizes = chunkSizes(bytes.length, rng).slice(0, 200);
    let at = 0;
    sizes.forEach((n, i) => {
      // Between pieces, time for the server to answer (a restart, say).
      const pause = i === sizes.length - 1 ? rng.int(30) : rng.chance(0.1) ? rng.int(5) : 0;
      writes.push({ bytes: bytes.subarray(at, at + n), pause });
      at += n;
    });
  }
  return { port, writes, linger: rng.chance(0.5) };
}

/** One connection: write the plan, read and drop every answer. */
async function fuzzSession({ port, writes, linger }: Plan): Promise<void> {
  const socket = net.connect({ host: "127.0.0.1", port });
  let closed = false;
  const gone = new Promise<void>((resolve) => {
    socket.on("close", () => {
      closed = true;
      resolve();
    });
  });
  socket.on("error", () => {});
  socket.on("data", () => {});
  const deadline = performance.now() + SESSION_MS;
  try {
    await Promise.race([new Promise((r) => socket.once("connect", r)), gone]);
    for (const { bytes, pause } of writes) {
      if (closed || performance.now() > deadline) return;
      socket.write(bytes);
      if (pause > 0) await Promise.race([sleep(pause), gone]);
    }
    if (linger) await Promise.race([sleep(SESSION_MS / 4), gone]);
  } finally {
    socket.destroy();
    await gone;
  }
}

Deno.test("fuzz: mutated c2s, s2s and component sessions over sockets leave the server serving", async () => {
  const seed = fuzzSeed();
  const server = await startTestServer({
    // PLAIN without TLS, so that a whole session can be written blindly.
    c2s: { allowUnencrypted: true, allowPlainWithoutTls: true, readRateBytesPerSecond: 0 },
    components: { "bots.localhost": { secret: "s3cret" } },
    // Mutated logins fail by the hundred from one address: the failed-login
    // throttle (tested on its own) would otherwise refuse the final login.
    auth: {
      perIp: { maxFailures: 1_000_000, windowSeconds: 1 },
      perIpAndAccount: { maxFailures: 1_000_000, windowSeconds: 1 },
      perAccount: { maxFailures: 1_000_000, windowSeconds: 1 },
    },
  });
  const end = performance.now() + fuzzSeconds(3) * 1000;
  let sessions = 0;
  try {
    // One generator per worker: its sessions depend on the seed only.
    const worker = async (rng: Rng) => {
      while (performance.now() < end) {
        sessions++;
        await fuzzSession(plan(server, rng));
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, (_, i) => worker(new Rng(seed + i))));
    // The server survived: a normal login works and messages still flow.
    const alice = await TestClient.login({
      port: server.ports.c2s,
      user: "alice",
      password: "wonderland",
      resource: "after-fuzz",
    });
    alice.send(`<message to='${alice.jid}' id='echo'><body>still here</body></message>`);
    const echo = await alice.stanza((e) => e.name === "message" && e.attrs.id === "echo");
    assert.equal(echo.getChildText("body"), "still here");
    alice.close();
  } catch (err) {
    console.error(`fuzz failed after ${sessions} sessions; replay with PARLEY_FUZZ_SEED=${seed}`);
    throw err;
  } finally {
    await server.stop();
  }
});
