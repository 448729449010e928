/**
 * The read rate a flooding client actually gets, over STARTTLS and direct
 * TLS, at the default `c2s.readRateBytesPerSecond` (256 KiB/s) and burst
 * (1 MiB): the client writes MIB mebibytes of whitespace and a ping; the
 * server must read all of it before it answers, so the rate is
 * (flood − burst) / time to the answer.
 * Usage: deno run -A bench/read_rate.ts [MIB]
 */
import { startTestServer } from "../tests/helpers/server.ts";
import { TestClient } from "../tests/helpers/client.ts";
import { writeChunked } from "../tests/helpers/flood.ts";

const flood = Number(Deno.args[0] ?? 4) * 1024 * 1024;
const server = await startTestServer();
const { readRateBytesPerSecond: rate, readBurstBytes: burst } = server.config.c2s;
try {
  for (const directTls of [false, true]) {
    const c = await TestClient.login({
      port: directTls ? server.ports.c2sDirectTls : server.ports.c2s,
      directTls,
      user: "alice",
      password: "wonderland",
    });
    const t0 = performance.now();
    writeChunked(c.socket, flood);
    c.send("<iq type='get' id='rate'><ping xmlns='urn:xmpp:ping'/></iq>");
    await c.stanza((e) => e.attrs.id === "rate", 600_000);
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `${directTls ? "direct TLS" : "STARTTLS  "}: ${
        ((flood - burst) / seconds / 1024).toFixed(1)
      }` +
        ` KiB/s (limit ${rate / 1024} KiB/s, burst ${burst / 1024} KiB): ${flood / 1048576} MiB` +
        ` in ${seconds.toFixed(1)} s`,
    );
    c.close();
  }
} finally {
  await server.stop();
}
