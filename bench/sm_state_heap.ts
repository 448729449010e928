/**
 * The heap cost of stream management's per-session state, measured
 * in-process without sockets (manual, not in CI): N sessions, then the
 * same N with SM enabled through the module's own code path (state in
 * `session.ext`, the outbox's unacked buffer, a resumption id in the
 * host's map), one stanza kept and acked each. Heap after a full GC.
 *
 *   deno run -A --v8-flags=--expose-gc bench/sm_state_heap.ts [N]
 */
import { Session } from "../src/core/session.ts";
import { SmManager } from "../src/modules/stream_management/manager.ts";
import { configSchema } from "../src/config/schema.ts";
import type { ModuleApi } from "../src/core/module_api.ts";
import type { C2sStream } from "../src/stream/c2s.ts";
import { el } from "../src/xml/element.ts";

const N = Number(Deno.args[0] ?? 20000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");
const heap = () => {
  gc();
  gc();
  return Deno.memoryUsage().heapUsed;
};
const api = {
  config: configSchema.parse({}),
  log: { info() {}, warn() {}, debug() {}, error() {} },
} as unknown as ModuleApi;
const manager = new SmManager(api);
const stream = { transport: { kind: "tcp" } } as unknown as C2sStream;
const enable = el("enable", { xmlns: "urn:xmpp:sm:3", resume: "true" });
const pong = el("iq", { type: "result", id: "p" });

const make = (i: number) => {
  const s = new Session("s" + i);
  s.username = "u" + i;
  s.host = "localhost";
  s.resource = "r";
  s.fullJid = `u${i}@localhost/r`;
  return s;
};
const base = heap();
const plain = Array.from({ length: N }, (_, i) => make(i));
const plainBytes = (heap() - base) / N;
const sm = Array.from({ length: N }, (_, i) => make(i));
const before = heap();
for (const s of sm) {
  manager.enable(s, enable, stream);
  s.send(pong);
  s.outbox.ack(1);
}
const smBytes = (heap() - before) / N;
console.log(
  `${N} sessions: a bare Session ${plainBytes.toFixed(0)} B on the heap; ` +
    `SM state (enabled, resumable, one stanza kept and acked) adds ${smBytes.toFixed(0)} B`,
);
// Keep both alive until measured.
if (plain.length + sm.length === 0) console.log("");
