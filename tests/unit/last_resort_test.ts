import assert from "node:assert/strict";

const LAST_RESORT = new URL("../../src/cli/last_resort.ts", import.meta.url).href;
const LOG = new URL("../../src/log.ts", import.meta.url).href;

/**
 * A child process that fails in every way that ends a Deno process by
 * default — a rejected promise, a throw in a timer, in a microtask and in
 * a `node:net` socket listener — then says whether it is still alive.
 */
function script(install: boolean): string {
  return `
import { installLastResort } from "${LAST_RESORT}";
import { configureLogging } from "${LOG}";
import * as net from "node:net";
await configureLogging({ level: "error", format: "text" });
if (${install}) installLastResort();
Promise.reject(new Error("rejected"));
(async () => { throw new RangeError("async throw"); })();
setTimeout(() => { throw new Error("timer throw"); }, 1);
queueMicrotask(() => { throw new Error("microtask throw"); });
const server = net.createServer((s) => s.on("data", () => { throw new Error("data throw"); }));
server.listen(0, "127.0.0.1", () => {
  const c = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1", () => c.write("x"));
  c.on("error", () => {});
});
setTimeout(() => { console.log("still alive"); server.close(); Deno.exit(0); }, 300);
`;
}

async function run(install: boolean): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script(install)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test("the last-resort handler logs what escaped and the process keeps running", async () => {
  const { code, stdout, stderr } = await run(true);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /still alive/);
  for (const what of ["rejected", "async throw", "timer throw", "microtask throw", "data throw"]) {
    assert.match(stderr, new RegExp(`still serving.*${what}`), what);
  }
});

Deno.test("without it, the first unhandled rejection ends the process", async () => {
  const { code, stdout } = await run(false);
  assert.notEqual(code, 0);
  assert.doesNotMatch(stdout, /still alive/);
});
