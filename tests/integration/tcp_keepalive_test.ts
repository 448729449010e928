/**
 * Every XMPP TCP connection has kernel keepalive on, so a peer that
 * vanished without closing (a NAT dropping its state) is noticed in
 * minutes: checked with `ss`, which shows the socket's keepalive timer.
 */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";

function haveSs(): boolean {
  try {
    return new Deno.Command("ss", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "tcp: the server's end of a client connection has a keepalive timer",
  ignore: !haveSs(),
  fn: async () => {
    const server = await startTestServer();
    const c = await TestClient.connect({ port: server.ports.c2s });
    try {
      await c.open();
      const out = await new Deno.Command("ss", {
        args: ["-Htno", "state", "established", `( sport = :${server.ports.c2s} )`],
        stdout: "piped",
      }).output();
      const lines = new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.includes(":"));
      assert.equal(lines.length, 1, lines.join("\n"));
      assert.match(lines[0], /timer:\(keepalive,/);
    } finally {
      c.close();
      await server.stop();
    }
  },
});
