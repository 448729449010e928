/**
 * `parley check --deep` against a real server process started from a
 * config file, the CLI reading the same file: every transport logs in,
 * the everyday features are exercised, the XEP-0479 lines are printed and
 * the temporary account is gone afterwards.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { startServerProcess } from "../helpers/server_process.ts";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));
/**
 * Not "localhost": the generated certificate's `*.<domain>` must cover the
 * service hosts (upload.<domain>), and RFC 6125 matching refuses a wildcard
 * over a single-label name. The check connects to the listeners' addresses,
 * so the name needs no DNS.
 */
const DOMAIN = "example.test";

/** Free ports chosen up front: the CLI reads them from the config, not from the server's log. */
function freePorts(n: number): number[] {
  const listeners = Array.from(
    { length: n },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  return ports;
}

async function runCheck(configFile: string, extra: string[] = []) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, "check", "--deep", "--config", configFile, ...extra],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  // What an assertion shows when it fails: the whole report and the errors.
  return { code: out.code, text, stderr, context: `${text}\n${stderr}` };
}

/** A server process for the check: DOMAIN, internal accounts, its ports (returned) free up front. */
async function startDeepServer(overrides: Record<string, unknown>) {
  const [c2s, c2sDirectTls, http, https] = freePorts(4);
  const at = (port: number) => ({ interfaces: ["127.0.0.1"], port });
  const server = await startServerProcess({
    listeners: {
      c2s: at(c2s),
      c2sDirectTls: at(c2sDirectTls),
      http: at(http),
      https: at(https),
    },
    hosts: [DOMAIN],
    auth: { provider: "internal" },
    ...overrides,
  });
  return { server, ports: { c2s, c2sDirectTls, http, https } };
}

Deno.test("check --deep exercises every transport and prints the compliance levels", async () => {
  const { server, ports: { c2s, c2sDirectTls, http, https } } = await startDeepServer({
    registration: { enabled: true },
  });
  try {
    const { code, text, context } = await runCheck(server.configFile);
    assert.equal(code, 0, context);
    assert.match(
      text,
      /^OK\s+account: temporary account parley-check-[0-9a-f]+@example\.test created by in-band registration/m,
      context,
    );
    for (
      const transport of [
        `c2s STARTTLS 127.0.0.1:${c2s}`,
        `direct TLS 127.0.0.1:${c2sDirectTls}`,
        `WebSocket ws://127.0.0.1:${http}/xmpp-websocket`,
        `WebSocket wss://127.0.0.1:${https}/xmpp-websocket`,
        `BOSH http://127.0.0.1:${http}/http-bind`,
        `BOSH https://127.0.0.1:${https}/http-bind`,
      ]
    ) {
      assert.match(
        text,
        new RegExp(`^OK\\s+${transport.replace(/[.[\]/]/g, "\\$&")}: logged in`, "m"),
        context,
      );
    }
    // Upload is U's module (issue 12 part 1): used when present, reported absent otherwise.
    assert.match(
      text,
      /^(OK\s+upload: slot from upload\.example\.test; PUT 20[01], GET 200|WARN\s+upload: no upload service)/m,
      context,
    );
    for (const step of ["roster", "message", "mam", "carbons", "muc"]) {
      assert.match(text, new RegExp(`^OK\\s+${step}: `, "m"), context);
    }
    assert.match(
      text,
      /^OK\s+account: parley-check-[0-9a-f]+@example\.test removed in-band/m,
      context,
    );
    assert.match(
      text,
      /^OK\s+account: parley-check-[0-9a-f]+@example\.test no longer exists$/m,
      context,
    );
    assert.match(text, /^OK\s+XEP-0479 Core: Advanced Server$/m, context);
    for (const category of ["Web", "IM", "Mobile", "A/V Calling"]) {
      assert.match(text, new RegExp(`^(OK|WARN)\\s+XEP-0479 ${category}: `, "m"), context);
    }
    assert.doesNotMatch(text, /^FAIL/m, context);
    if (Deno.env.get("SHOW_REPORT")) console.log(text);
  } finally {
    await server.stop();
  }
});

Deno.test("check --deep without in-band registration makes the account in the shared SQLite storage", async () => {
  const { server } = await startDeepServer({
    http: { websocket: false, bosh: false },
    storage: { driver: "sqlite", path: "parley.sqlite" },
  });
  try {
    const { code, text, context } = await runCheck(server.configFile);
    assert.equal(code, 0, context);
    assert.match(
      text,
      /^OK\s+account: temporary account \S+ created in the storage \(sqlite\)/m,
      context,
    );
    assert.match(text, /^OK\s+account: \S+ no longer exists$/m, context);
    // Without WebSocket and BOSH the Web category cannot be reached, and the report says why.
    assert.match(
      text,
      /^WARN\s+XEP-0479 Web: not reached; missing for Server: Web Connection Mechanisms/m,
      context,
    );
  } finally {
    await server.stop();
  }
});

Deno.test("check --deep with no server running fails within its deadlines", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-deep-" });
  try {
    const [c2s] = freePorts(1);
    const file = `${dir}/config.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        hosts: ["localhost"],
        dataDir: `${dir}/data`,
        listeners: {
          c2s: { interfaces: ["127.0.0.1"], port: c2s },
          c2sDirectTls: { enabled: false },
          s2s: { enabled: false },
          http: { enabled: false },
          https: { enabled: false },
        },
        storage: { driver: "memory" },
        s2s: { enabled: false },
      }),
    );
    const { code, text } = await runCheck(file);
    assert.equal(code, 1, text);
    assert.match(text, /^FAIL\s+account: temporary account not created: .*connect/m, text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
