import assert from "node:assert/strict";
import {
  type Attempt,
  connectionAttempts,
  orderSrv,
  parseHostPort,
  parseRoute,
  resolveTargets,
  type Target,
} from "../../src/s2s/resolve.ts";
import { DialbackKeys } from "../../src/s2s/dialback_key.ts";

const srv = (target: string, port: number, priority: number, weight: number) => ({
  target,
  port,
  priority,
  weight,
});

Deno.test("s2s resolve: a static route wins over DNS", async () => {
  const targets = await resolveTargets("b.test", { "b.test": "10.0.0.2:5999" }, () => {
    throw new Error("no DNS expected");
  });
  assert.deepEqual(targets, [{ host: "10.0.0.2", port: 5999, directTls: false }]);
});

Deno.test("s2s resolve: a tls:// static route selects direct TLS (XEP-0368)", async () => {
  const targets = await resolveTargets("b.test", { "b.test": "tls://10.0.0.2:5999" }, () => {
    throw new Error("no DNS expected");
  });
  assert.deepEqual(targets, [{ host: "10.0.0.2", port: 5999, directTls: true }]);
  assert.deepEqual(parseRoute("tls://[::1]"), { host: "::1", port: 5270, directTls: true });
  assert.deepEqual(parseRoute("xmpp.b.test"), {
    host: "xmpp.b.test",
    port: 5269,
    directTls: false,
  });
  assert.equal(parseRoute("tls://"), undefined);
});

Deno.test("s2s resolve: SRV records merged by priority, weight, direct TLS first (XEP-0368)", async () => {
  const targets = await resolveTargets("b.test", {}, (name) =>
    Promise.resolve(
      name.startsWith("_xmpps-server")
        ? [srv("tls.b.test.", 5270, 10, 0)]
        : [srv("backup.b.test.", 5269, 20, 0), srv("main.b.test.", 5269, 10, 0)],
    ));
  assert.deepEqual(targets.map((t) => `${t.host}:${t.port}:${t.directTls}`), [
    "tls.b.test:5270:true",
    "main.b.test:5269:false",
    "backup.b.test:5269:false",
  ]);
});

/** A `random` that returns these draws in turn. */
function draws(...values: number[]): () => number {
  return () => {
    const v = values.shift();
    if (v === undefined) throw new Error("more draws than expected");
    return v;
  };
}

Deno.test("s2s resolve: RFC 2782 weighted-random order within a priority", () => {
  const rec = (name: string, priority: number, weight: number) => ({ name, priority, weight });
  const records = [rec("a", 10, 10), rec("b", 10, 30), rec("z", 10, 0), rec("late", 20, 5)];
  const names = (random: () => number) => orderSrv(records, random).map((r) => r.name);
  // Running sums over [z:0, a:10, b:40] (weight 0 first); the draw is floor(r * (total + 1)).
  // 0 picks z; then over [a:10, b:40]: 0.5 * 41 = 20 → b; then a; the priority-20 record last.
  assert.deepEqual(names(draws(0, 0.5, 0, 0)), ["z", "b", "a", "late"]);
  // 5/41 → draw 5 → a (running sum 10 ≥ 5); then over [z:0, b:30]: 0.5 * 31 = 15 → b; z.
  assert.deepEqual(names(draws(5 / 41, 0.5, 0, 0)), ["a", "b", "z", "late"]);
  // ... but a draw of 0 there picks z, weight 0 or not (RFC 2782).
  assert.deepEqual(names(draws(5 / 41, 0, 0, 0)), ["a", "z", "b", "late"]);
  // A draw at the very top (0.999) picks the last running sum: b, then a (sum 10 of 11).
  assert.deepEqual(names(draws(0.999, 0.999, 0, 0)), ["b", "a", "z", "late"]);
  // Over many draws a record is first about in proportion to its weight (30 : 10).
  let bFirst = 0;
  for (let i = 0; i < 400; i++) {
    const order = orderSrv([rec("a", 1, 10), rec("b", 1, 30)], Math.random);
    if (order[0].name === "b") bFirst++;
  }
  assert.ok(bFirst > 200 && bFirst < 400, `b first ${bFirst} times of 400`);
});

Deno.test("s2s resolve: the SRV lookup uses the injected draw for the weighted order", async () => {
  const lookup = (name: string) =>
    Promise.resolve(
      name.startsWith("_xmpps-server")
        ? [srv("tls.b.test.", 5270, 10, 1)]
        : [srv("one.b.test.", 5269, 10, 1), srv("two.b.test.", 5269, 10, 2)],
    );
  const order = async (...d: number[]) =>
    (await resolveTargets("b.test", {}, lookup, draws(...d))).map((t) => t.host);
  // Running sums [tls:1, one:2, two:4]: draw 3 → two; then [tls:1, one:2]: draw 2 → one.
  assert.deepEqual(await order(0.7, 0.9, 0), ["two.b.test", "one.b.test", "tls.b.test"]);
  assert.deepEqual(await order(0, 0, 0), ["tls.b.test", "one.b.test", "two.b.test"]);
});

Deno.test("s2s resolve: every address of every target, in order, resolved only when due", async () => {
  const targets: Target[] = [
    { host: "first.b.test", port: 5269, directTls: false },
    { host: "gone.b.test", port: 5269, directTls: false },
    { host: "tls.b.test", port: 5270, directTls: true },
    { host: "192.0.2.9", port: 5269, directTls: false },
  ];
  const table: Record<string, string[]> = {
    "first.b.test": ["2001:db8::1", "192.0.2.1"],
    "tls.b.test": ["192.0.2.3"],
    "192.0.2.9": ["192.0.2.9"],
  };
  const asked: string[] = [];
  const addresses = (host: string) => {
    asked.push(host);
    const found = table[host];
    return found ? Promise.resolve(found) : Promise.reject(new Error(`${host}: NXDOMAIN`));
  };
  const show = (a: Attempt) =>
    `${a.target.host}:${a.target.port} ${"error" in a ? `error ${a.error.message}` : a.address}${
      a.last ? " last" : ""
    }`;
  const seen: string[] = [];
  for await (const attempt of connectionAttempts(targets, addresses)) {
    seen.push(show(attempt));
    // Addresses are looked up as their target comes up, not all at once.
    assert.equal(asked.at(-1), attempt.target.host);
  }
  assert.deepEqual(seen, [
    "first.b.test:5269 2001:db8::1",
    "first.b.test:5269 192.0.2.1",
    "gone.b.test:5269 error gone.b.test: NXDOMAIN",
    "tls.b.test:5270 192.0.2.3",
    "192.0.2.9:5269 192.0.2.9 last",
  ]);
  // Stopping after a success spares the later lookups.
  asked.length = 0;
  for await (const _ of connectionAttempts(targets, addresses)) break;
  assert.deepEqual(asked, ["first.b.test"]);
});

Deno.test("s2s resolve: a target whose address lookup hangs fails after its limit; the next is tried", async () => {
  const targets: Target[] = [
    { host: "hangs.b.test", port: 5269, directTls: false },
    { host: "ok.b.test", port: 5269, directTls: false },
  ];
  // The first lookup never settles (dead name servers).
  const addresses = (host: string) =>
    host === "ok.b.test" ? Promise.resolve(["192.0.2.7"]) : new Promise<string[]>(() => {});
  const limits: boolean[] = [];
  const seen: string[] = [];
  for await (const a of connectionAttempts(targets, addresses, (last) => (limits.push(last), 20))) {
    seen.push(`${a.target.host} ${"error" in a ? a.error.message : a.address}`);
  }
  assert.deepEqual(seen, ["hangs.b.test address lookup timed out", "ok.b.test 192.0.2.7"]);
  assert.deepEqual(limits, [false, true]);
});

Deno.test("s2s resolve: no SRV falls back to the domain on 5269; '.' means no service", async () => {
  assert.deepEqual(
    await resolveTargets("b.test", {}, () => Promise.reject(new Error("NXDOMAIN"))),
    [
      { host: "b.test", port: 5269, directTls: false },
    ],
  );
  assert.deepEqual(
    await resolveTargets("b.test", {}, () => Promise.resolve([srv(".", 0, 0, 0)])),
    [],
  );
});

Deno.test("s2s resolve: host:port parsing", () => {
  assert.deepEqual(parseHostPort("[::1]:5270"), { host: "::1", port: 5270 });
  assert.deepEqual(parseHostPort("example.net"), { host: "example.net", port: 5269 });
  assert.equal(parseHostPort("x:99999"), undefined);
});

Deno.test("dialback keys (XEP-0185): recomputed, bound to domains and stream id", () => {
  const keys = new DialbackKeys("s3cr3t");
  const key = keys.generate("b.test", "a.test", "id1");
  assert.match(key, /^[0-9a-f]{64}$/);
  assert.ok(keys.verify("b.test", "a.test", "id1", key));
  assert.ok(!keys.verify("b.test", "a.test", "id2", key));
  assert.ok(!keys.verify("c.test", "a.test", "id1", key));
  assert.ok(!new DialbackKeys("other").verify("b.test", "a.test", "id1", key));
});
