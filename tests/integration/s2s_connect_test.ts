/**
 * Outgoing s2s connection attempts (RFC 6120 §3.2.1, RFC 2782, XEP-0368):
 * a.test finds b.test only through SRV records and A/AAAA answers from an
 * injected resolver (no DNS query leaves the machine), and tries each
 * address of each target in turn, each within a short per-attempt limit
 * (0.3 s here), so a silent host does not use up s2s.connectTimeoutSeconds
 * (20 s here).
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { loginAt as login } from "../helpers/federation.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import type { S2sOutServices } from "../../src/stream/s2s_out.ts";

const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

interface Dns {
  /** SRV name → records. */
  srv: Record<string, Deno.SrvRecord[]>;
  /** Host → its A/AAAA addresses; null: the lookup never answers (dead name servers). */
  addresses: Record<string, string[] | null>;
}

/**
 * a.test and b.test; b reaches a by a static route, a finds b only through
 * the DNS `dns(b)` describes. `asked`: a's lookups, in order.
 */
async function federate(
  dns: (b: TestServer) => Dns,
): Promise<{ a: TestServer; b: TestServer; asked: string[] }> {
  const a = await startTestServer({ hosts: ["a.test"], s2s: { connectTimeoutSeconds: 20 } });
  const b = await startTestServer({ hosts: ["b.test"] });
  b.config.s2s.hosts["a.test"] = `127.0.0.1:${a.ports.s2s}`;
  const { srv, addresses } = dns(b);
  const asked: string[] = [];
  const services: S2sOutServices = a.s2s!.manager;
  services.connect = {
    attemptTimeoutMs: 300,
    resolver: {
      srv: (name) => {
        asked.push(`SRV ${name}`);
        return Promise.resolve(srv[name] ?? []);
      },
      addresses: (host) => {
        asked.push(`A/AAAA ${host}`);
        const found = addresses[host];
        if (found === null) return new Promise<string[]>(() => {});
        return found ? Promise.resolve(found) : Promise.reject(new Error(`${host}: no address`));
      },
    },
  };
  return { a, b, asked };
}

const record = (target: string, port: number, priority: number): Deno.SrvRecord => ({
  target,
  port,
  priority,
  weight: 0,
});

/** A host that accepts TCP and then never says a word. */
function silentServer(): Promise<{ port: number; accepted: () => number; close(): void }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => sockets.push(s));
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        accepted: () => sockets.length,
        close() {
          for (const s of sockets) s.destroy();
          server.close();
        },
      });
    });
  });
}

/** alice@a.test sends bob@b.test a message; it must arrive well within the 20 s. */
async function messageArrives(a: TestServer, b: TestServer, id: string): Promise<void> {
  const alice = await login(a, "alice", "wonderland", "a.test");
  const bob = await login(b, "bob", "builder", "b.test");
  try {
    alice.send(`<message to='bob@b.test/r' type='chat' id='${id}'><body>hi</body></message>`);
    const got = await bob.stanza((e) => e.name === "message" && e.attrs.id === id, 10_000);
    assert.equal(got.attrs.from, "alice@a.test/r");
  } finally {
    await alice.close();
    await bob.close();
  }
}

Deno.test("s2s connect: a target that accepts TCP and hangs gives way to the next SRV target", async () => {
  const silent = await silentServer();
  const { a, b, asked } = await federate((b) => ({
    srv: {
      "_xmpp-server._tcp.b.test": [
        record("backup.b.test.", b.ports.s2s, 20),
        record("hang.b.test.", silent.port, 10),
      ],
    },
    addresses: { "hang.b.test": ["127.0.0.1"], "backup.b.test": ["127.0.0.1"] },
  }));
  try {
    await messageArrives(a, b, "h1");
    assert.equal(silent.accepted(), 1, "the priority-10 target is tried first");
    assert.deepEqual(asked.filter((q) => q.startsWith("A/AAAA")), [
      "A/AAAA hang.b.test",
      "A/AAAA backup.b.test",
    ]);
  } finally {
    silent.close();
    await a.stop();
    await b.stop();
  }
});

Deno.test("s2s connect: a target whose address lookup hangs gives way to the next SRV target", async () => {
  const { a, b, asked } = await federate((b) => ({
    srv: {
      "_xmpp-server._tcp.b.test": [
        record("backup.b.test.", b.ports.s2s, 20),
        record("dead.b.test.", b.ports.s2s, 10),
      ],
    },
    addresses: { "dead.b.test": null, "backup.b.test": ["127.0.0.1"] },
  }));
  try {
    await messageArrives(a, b, "d1");
    assert.deepEqual(asked.filter((q) => q.startsWith("A/AAAA")), [
      "A/AAAA dead.b.test",
      "A/AAAA backup.b.test",
    ]);
  } finally {
    await a.stop();
    await b.stop();
  }
});

Deno.test("s2s connect: an address that refuses gives way to the target's next address", async () => {
  const { a, b, asked } = await federate((b) => ({
    srv: { "_xmpp-server._tcp.b.test": [record("xmpp.b.test.", b.ports.s2s, 0)] },
    // b listens on 127.0.0.1 only: 127.0.0.2 (also loopback) refuses the connection.
    addresses: { "xmpp.b.test": ["127.0.0.2", "127.0.0.1"] },
  }));
  try {
    await messageArrives(a, b, "r1");
    assert.deepEqual(asked, [
      "SRV _xmpps-server._tcp.b.test",
      "SRV _xmpp-server._tcp.b.test",
      "A/AAAA xmpp.b.test",
    ]);
  } finally {
    await a.stop();
    await b.stop();
  }
});

Deno.test("s2s connect: a target without addresses and a silent one are skipped, and the bounce says what was tried", async () => {
  const silent = await silentServer();
  const { a, b } = await federate(() => ({
    srv: {
      "_xmpp-server._tcp.b.test": [
        record("gone.b.test.", 5269, 0),
        record("hang.b.test.", silent.port, 5),
      ],
    },
    addresses: { "hang.b.test": ["127.0.0.1"] },
  }));
  // The last attempt gets all that remains: keep it short here.
  a.config.s2s.connectTimeoutSeconds = 2;
  const alice = await login(a, "alice", "wonderland", "a.test");
  try {
    alice.send(`<message to='bob@b.test' type='chat' id='x1'><body>hi</body></message>`);
    const bounce = await alice.stanza((e) => e.attrs.id === "x1", 10_000);
    assert.equal(bounce.attrs.type, "error");
    assert.equal(silent.accepted(), 1);
    const text = bounce.getChild("error")?.getChildText("text", NS_STANZAS) ?? "";
    assert.match(text, /gone\.b\.test:5269: gone\.b\.test: no address/, text);
    assert.match(text, new RegExp(`hang\\.b\\.test:${silent.port} \\(127\\.0\\.0\\.1\\)`), text);
  } finally {
    await alice.close();
    silent.close();
    await a.stop();
    await b.stop();
  }
});
