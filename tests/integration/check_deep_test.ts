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
  return { code: out.code, text, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("check --deep exercises every transport and prints the compliance levels", async () => {
  const [c2s, c2sDirectTls, http, https] = freePorts(4);
  const at = (port: number) => ({ interfaces: ["127.0.0.1"], port });
  const server = await startServerProcess({
    listeners: {
      c2s: at(c2s),
      c2sDirectTls: at(c2sDirectTls),
      http: at(http),
      https: at(https),
    },
    auth: { provider: "internal" },
    registration: { enabled: true },
  });
  try {
    const { code, text, stderr } = await runCheck(server.configFile);
    const context = `${text}\n${stderr}`;
    assert.equal(code, 0, context);
    assert.match(
      text,
      /^OK\s+account: temporary account parley-check-[0-9a-f]+@localhost created by in-band registration/m,
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
    for (const step of ["roster", "message", "mam", "carbons", "muc"]) {
      assert.match(text, new RegExp(`^OK\\s+${step}: `, "m"), context);
    }
    assert.match(text, /^OK\s+account: parley-check-[0-9a-f]+@localhost removed in-band/m, context);
    assert.match(
      text,
      /^OK\s+account: parley-check-[0-9a-f]+@localhost no longer exists$/m,
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
