/**
 * `parley check`'s DNS report with an injected resolver: no query leaves
 * the process, and each answer maps to the line an operator needs.
 */
import assert from "node:assert/strict";
import { configSchema } from "../../src/config/schema.ts";
import { checkDns, type DnsResolver } from "../../src/cli/check_dns.ts";
import { Report } from "../../src/cli/check_report.ts";

type Srv = Partial<Deno.SrvRecord> & { target: string; port: number };

/** A resolver answering from maps, recording what it was asked. */
function fakeDns(
  srv: Record<string, Srv[]>,
  addresses: Record<string, string[]>,
  failing = false,
) {
  const asked: string[] = [];
  const resolver: DnsResolver = {
    srv(name) {
      asked.push(name);
      if (failing) return Promise.reject(new Error("connection refused"));
      return Promise.resolve(
        (srv[name] ?? []).map((r) => ({ priority: 0, weight: 5, ...r })),
      );
    },
    addresses(name) {
      asked.push(`A ${name}`);
      return Promise.resolve(addresses[name] ?? []);
    },
  };
  return { resolver, asked };
}

async function run(raw: Record<string, unknown>, dns: ReturnType<typeof fakeDns>) {
  const lines: string[] = [];
  const report = new Report((l) => lines.push(l));
  await checkDns(configSchema.parse(raw), report, dns.resolver);
  return { lines, failures: report.failures };
}

/** The one line about `label` (a record name or a phrase), failing when there is not exactly one. */
function lineAbout(lines: string[], label: string): string {
  const found = lines.filter((l) => l.includes(label));
  assert.equal(found.length, 1, `one line about ${label} in:\n${lines.join("\n")}`);
  return found[0];
}

Deno.test("check dns: every record found, on the right ports, with addresses", async () => {
  const dns = fakeDns({
    "_xmpp-client._tcp.example.org": [{ target: "xmpp.example.org.", port: 5222 }],
    "_xmpps-client._tcp.example.org": [{ target: "xmpp.example.org.", port: 5223 }],
    "_xmpp-server._tcp.example.org": [{ target: "xmpp.example.org.", port: 5269 }],
    "_xmpps-server._tcp.example.org": [{ target: "xmpp.example.org.", port: 5270 }],
  }, { "xmpp.example.org": ["192.0.2.1", "2001:db8::1"] });
  const { lines, failures } = await run({
    hosts: ["example.org"],
    listeners: { s2sDirectTls: { port: 5270, enabled: true } },
  }, dns);
  assert.equal(failures, 0);
  assert.match(
    lineAbout(lines, "_xmpps-server._tcp"),
    /^OK {4}example\.org \(federation\): _xmpps-server\._tcp SRV → xmpp\.example\.org:5270 .*\(192\.0\.2\.1, 2001:db8::1\)$/,
  );
  assert.match(lineAbout(lines, "_xmpp-server._tcp"), /^OK .*xmpp\.example\.org:5269/);
  assert.match(lineAbout(lines, "_xmpp-client._tcp"), /^OK {4}example\.org \(clients\): /);
  assert.match(lineAbout(lines, "_xmpps-client._tcp"), /^OK .*:5223/);
  // The target's addresses are looked up once, however many records name it.
  assert.equal(dns.asked.filter((q) => q === "A xmpp.example.org").length, 1);
});

Deno.test("check dns: missing records: fallback to the domain, or the record to publish", async () => {
  const dns = fakeDns({}, { "example.org": ["192.0.2.1"] });
  const { lines, failures } = await run({ hosts: ["example.org"] }, dns);
  assert.equal(failures, 0, "missing DNS records are warnings, never failures");
  // STARTTLS services fall back to the domain on the default port (RFC 6120 §3.2).
  assert.match(
    lineAbout(lines, "no _xmpp-server._tcp record"),
    /^OK .*other servers fall back to example\.org:5269 \(192\.0\.2\.1\)/,
  );
  assert.match(lineAbout(lines, "no _xmpp-client._tcp record"), /^OK .*example\.org:5222/);
  // Direct TLS has no fallback: the record is what makes anyone use it.
  assert.match(
    lineAbout(lines, "no _xmpps-client._tcp record"),
    /^WARN .*will not use direct TLS .*publish _xmpps-client\._tcp\.example\.org\. 3600 IN SRV 0 5 5223 example\.org\.$/,
  );
  // …unless that listener is off (the default for s2s direct TLS).
  assert.match(
    lineAbout(lines, "no _xmpps-server._tcp record"),
    /^OK .*listeners\.s2sDirectTls is off/,
  );
  for (const name of ["_xmpps-server._tcp.example.org", "_xmpp-server._tcp.example.org"]) {
    assert.ok(dns.asked.includes(name), `queried ${name}`);
  }
});

Deno.test("check dns: no SRV and a non-default port, or no address at all", async () => {
  const moved = await run(
    { hosts: ["example.org"], listeners: { s2s: { port: 5299 } } },
    fakeDns({}, { "example.org": ["192.0.2.1"] }),
  );
  assert.match(
    lineAbout(moved.lines, "no _xmpp-server._tcp record"),
    /^WARN .*fall back to example\.org:5269 .*listens on 5299; publish _xmpp-server\._tcp\.example\.org\. 3600 IN SRV 0 5 5299 example\.org\.$/,
  );
  const nowhere = await run({ hosts: ["example.org"] }, fakeDns({}, {}));
  assert.match(
    lineAbout(nowhere.lines, "no _xmpp-server._tcp record"),
    /^WARN .*no A\/AAAA record for example\.org: other servers cannot reach this server/,
  );
});

Deno.test("check dns: records that point wrong are reported with the fix", async () => {
  const dns = fakeDns({
    "_xmpp-server._tcp.example.org": [{ target: "xmpp.example.org.", port: 5999 }],
    "_xmpp-client._tcp.example.org": [{ target: "gone.example.org.", port: 5222 }],
    "_xmpps-client._tcp.example.org": [{ target: ".", port: 0 }],
    "_xmpps-server._tcp.example.org": [{ target: "xmpp.example.org.", port: 5270 }],
  }, { "xmpp.example.org": ["192.0.2.1"] });
  const { lines } = await run({ hosts: ["example.org"] }, dns);
  assert.match(
    lineAbout(lines, "_xmpp-server._tcp SRV"),
    /^WARN .*xmpp\.example\.org:5999 .*but this server listens on 5269: fix the record$/,
  );
  assert.match(
    lineAbout(lines, "_xmpp-client._tcp SRV"),
    /^WARN .*but gone\.example\.org has no A\/AAAA record: add one$/,
  );
  assert.match(
    lineAbout(lines, "_xmpps-client._tcp says"),
    /^WARN .*"not offered" .*listeners\.c2sDirectTls is on/,
  );
  // A direct TLS record for a listener that is off: peers trying it first fail.
  assert.match(
    lineAbout(lines, "_xmpps-server._tcp SRV"),
    /^WARN .*listeners\.s2sDirectTls is off: other servers trying it fail; remove the record/,
  );
});

Deno.test("check dns: DNS failing warns once per domain; federation off, no server records", async () => {
  const down = await run({ hosts: ["example.org"] }, fakeDns({}, {}, true));
  assert.equal(down.failures, 0);
  assert.match(
    lineAbout(down.lines, "DNS could not be queried"),
    /^WARN {2}example\.org \(clients\): DNS could not be queried: connection refused$/,
  );

  const dns = fakeDns({}, { "example.org": ["192.0.2.1"] });
  const { lines } = await run(
    { hosts: ["example.org", "localhost"], s2s: { enabled: false } },
    dns,
  );
  assert.ok(dns.asked.every((q) => !q.includes("-server.")), dns.asked.join(", "));
  assert.ok(dns.asked.every((q) => !q.includes("localhost")), "local names are not queried");
  assert.ok(lines.every((l) => !l.includes("(federation)")));
});
