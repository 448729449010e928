/**
 * Reload of a running `parley serve` process: `parley reload` through the
 * admin socket (applied, refused), SIGHUP, and the socket file's mode.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TestClient } from "../helpers/client.ts";
import { startServerProcess } from "../helpers/server_process.ts";
import { merge } from "../helpers/server.ts";
import { adminRequest } from "../../src/reload/admin_client.ts";
import { MAX_REQUEST_BYTES } from "../../src/reload/admin_socket.ts";
import { NS } from "../../src/xml/namespaces.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

async function parley(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "main.ts"), ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Log in (the insecure provider makes the account) and ping the domain. */
async function loginAndPing(port: number, domain: string): Promise<TestClient> {
  const c = await TestClient.login({
    port,
    domain,
    user: "carol",
    password: "any",
    mechanism: "PLAIN",
  });
  c.send(`<iq type='get' id='p1' to='${domain}'><ping xmlns='${NS.ping}'/></iq>`);
  const pong = await c.stanza((e) => e.attrs.id === "p1");
  assert.equal(pong.attrs.type, "result");
  return c;
}

Deno.test("parley reload and SIGHUP reload a running server; a broken config is refused", async () => {
  const server = await startServerProcess();
  const clients: TestClient[] = [];
  try {
    const { configFile, config } = server;
    const socket = join(config.dataDir as string, "parley.sock");
    // The admin socket opens once the server has started (after the listeners' log lines).
    for (let i = 0; i < 100 && !server.log().includes("admin socket on"); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await Deno.stat(socket)).mode! & 0o777, 0o600);
    const first = await loginAndPing(server.ports.c2s, "localhost");
    clients.push(first);

    // `parley reload`: a host added, a client of it logs in.
    const write = (over: Record<string, unknown>) =>
      Deno.writeTextFile(configFile, JSON.stringify(merge(config, over)));
    await write({ hosts: ["localhost", "b.example"] });
    const applied = await parley(["reload", "-c", configFile]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /hosts added: b\.example/);
    clients.push(await loginAndPing(server.ports.c2s, "b.example"));

    // Broken: refused with the report `parley serve` prints, exit 2; the old config still serves.
    await write({ hosts: ["localhost", "b.example", "c.example"], c2s: { resourceConflict: "x" } });
    const started = await parley(["serve", "-c", configFile]);
    const report = started.stderr.replace(/^parley serve: /, "").trim();
    assert.match(report, /c2s\.resourceConflict: "x" is not allowed/);
    const refused = await parley(["reload", "-c", configFile]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /reload refused; the running configuration stays/);
    assert.ok(refused.stderr.includes(report), refused.stderr);
    const again = await loginAndPing(server.ports.c2s, "b.example");
    clients.push(again);

    // SIGHUP: the file is read again; the host added is served, nobody was dropped.
    // Log levels change too: debug lines appear from now on.
    assert.doesNotMatch(server.log(), /\[DBG\]/);
    await write({ hosts: ["localhost", "b.example", "c.example"], log: { level: "debug" } });
    Deno.kill(server.pid, "SIGHUP");
    for (
      let i = 0;
      i < 100 && !/config reloaded: "?hosts added: c\.example/.test(server.log());
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(server.log(), /config reloaded: "?hosts added: c\.example/);
    clients.push(await loginAndPing(server.ports.c2s, "c.example"));
    assert.match(server.log(), /\[DBG\]/);
    for (const c of clients) assert.equal(c.closed, false);
    first.send(`<iq type='get' id='p2' to='localhost'><ping xmlns='${NS.ping}'/></iq>`);
    assert.equal((await first.stanza((e) => e.attrs.id === "p2")).attrs.type, "result");

    // The socket answers unknown commands and oversized requests with an error, not a crash.
    const unknown = await adminRequest(socket, { command: "nope" });
    assert.equal(unknown.ok, false);
    const huge = await adminRequest(socket, {
      command: "reload",
      pad: "x".repeat(MAX_REQUEST_BYTES),
    });
    assert.deepEqual(huge, { ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes` });
  } finally {
    for (const c of clients) c.close();
    await server.stop();
  }
});

Deno.test("parley reload without a running server says so and exits 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-reload-cli-" });
  try {
    const file = join(dir, "config.json");
    await Deno.writeTextFile(file, JSON.stringify({ dataDir: join(dir, "data") }));
    const result = await parley(["reload", "-c", file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot reach the server on .*parley\.sock/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
