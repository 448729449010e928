/** `parley check`'s HTTP lines: listeners, and advertised URLs against them. */
import assert from "node:assert/strict";
import { configSchema } from "../../src/config/schema.ts";
import { checkHttp } from "../../src/cli/check_http.ts";
import { Report } from "../../src/cli/check_report.ts";

function lines(config: Record<string, unknown>): string[] {
  const out: string[] = [];
  checkHttp(configSchema.parse(config), new Report((l) => out.push(l)));
  return out;
}

Deno.test("check: defaults report both listeners and URLs derived from the request", () => {
  const out = lines({});
  assert.ok(
    out.some((l) =>
      /^OK\s+http: listeners\.http: plain HTTP on \[127\.0\.0\.1\]:5280 \(loopback/.test(l)
    ),
    out.join("\n"),
  );
  assert.ok(
    out.some((l) => /^OK\s+http: listeners\.https: HTTPS on .*:5281, certificates by SNI/.test(l)),
  );
  assert.ok(out.some((l) => /^OK\s+http: WebSocket advertised at \/xmpp-websocket/.test(l)));
  assert.ok(out.some((l) => /^OK\s+http: BOSH advertised at \/http-bind/.test(l)));
});

Deno.test("check: an advertised URL on a listener's port matches it", () => {
  const out = lines({
    http: { websocketUrl: "wss://chat.example:5281/xmpp-websocket", bosh: false },
  });
  assert.ok(
    out.some((l) =>
      /^OK\s+http: http\.websocketUrl .* matches listeners\.https \(port 5281\)/.test(l)
    ),
    out.join("\n"),
  );
  assert.ok(!out.some((l) => /BOSH/.test(l)));
});

Deno.test("check: a URL that matches no listener warns, unless a trusted proxy serves it", () => {
  const direct = lines({ http: { websocketUrl: "wss://chat.example/ws" } });
  assert.ok(
    direct.some((l) =>
      /^WARN\s+http: http\.websocketUrl wss:\/\/chat\.example\/ws: path \/ws is not \/xmpp-websocket/
        .test(l)
    ),
    direct.join("\n"),
  );
  assert.ok(
    direct.some((l) =>
      /^WARN\s+http: .* matches no listener \(http port 5280, https port 5281\): behind a reverse proxy/
        .test(l)
    ),
  );
  const proxied = lines({
    http: { websocketUrl: "wss://chat.example/xmpp-websocket", trustedProxies: ["127.0.0.1"] },
  });
  assert.ok(
    proxied.some((l) => /^OK\s+http: .* served through a reverse proxy/.test(l)),
    proxied.join("\n"),
  );
  assert.ok(!proxied.some((l) => l.startsWith("WARN")), proxied.join("\n"));
});

Deno.test("check: no HTTP listener while WebSocket or BOSH is on warns", () => {
  const out = lines({ listeners: { http: { enabled: false }, https: { enabled: false } } });
  assert.deepEqual(out.filter((l) => l.startsWith("WARN")).length, 1, out.join("\n"));
  assert.match(out[0], /no HTTP listener/);
});
