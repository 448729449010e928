/**
 * Failed-login throttling over real sockets. Linux routes all of 127/8 to
 * loopback, so a client bound to 127.0.0.2 is a second client host.
 */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { startServerProcess } from "../helpers/server_process.ts";

const ATTACKER = "127.0.0.1";
const OWNER = "127.0.0.2";

async function direct(server: TestServer, localAddress: string): Promise<TestClient> {
  const c = await TestClient.connect({
    port: server.ports.c2sDirectTls,
    directTls: true,
    localAddress,
  });
  await c.open();
  return c;
}

Deno.test("failing as alice from one address does not lock alice out from another", async () => {
  // Defaults: 5 failures per (account, address), 10 per address, 100 per account.
  const server = await startTestServer();
  try {
    // RFC 6120 §6.4.5: a connection gets 5 attempts, so spread them over two.
    const first = await direct(server, ATTACKER);
    for (let i = 0; i < 4; i++) {
      const f = await first.auth("PLAIN", "alice", `guess${i}`);
      assert.ok(f.getChild("not-authorized"), f.toString());
    }
    first.close();
    const second = await direct(server, ATTACKER);
    assert.ok((await second.auth("SCRAM-SHA-256", "alice", "guess4")).getChild("not-authorized"));
    // Past the limit the attacker learns nothing: wrong and right passwords get the same answer.
    const wrong = await second.auth("SCRAM-SHA-256", "alice", "guess5");
    assert.ok(wrong.getChild("temporary-auth-failure"), wrong.toString());
    const right = await second.auth("PLAIN", "alice", "wonderland");
    assert.ok(right.getChild("temporary-auth-failure"), right.toString());
    second.close();

    // The owner, from an address with no failures, logs in (STARTTLS + SCRAM) and binds.
    const owner = await TestClient.login({
      port: server.ports.c2s,
      localAddress: OWNER,
      user: "alice",
      password: "wonderland",
    });
    assert.match(owner.jid!, /^alice@localhost\//);

    // The attacker's address is still throttled for alice, even after the owner's login…
    const third = await direct(server, ATTACKER);
    const again = await third.auth("PLAIN", "alice", "wonderland");
    assert.ok(again.getChild("temporary-auth-failure"), again.toString());
    // …but not for other accounts: its 6 failures are under the per-address limit of 10.
    assert.equal((await third.auth("PLAIN", "bob", "builder")).name, "success");
    third.close();
    owner.close();
  } finally {
    await server.stop();
  }
});

Deno.test("exchanges run in parallel learn no more verdicts than the limit", async () => {
  const server = await startTestServer();
  try {
    const clients = await Promise.all(
      Array.from({ length: 8 }, () => direct(server, ATTACKER)),
    );
    // All eight start before any fails, so all pass the check made at <auth/>.
    const answers = await Promise.all(
      clients.map((c, i) => c.auth("SCRAM-SHA-1", "alice", `guess${i}`)),
    );
    const told = answers.filter((a) => a.getChild("not-authorized")).length;
    const withheld = answers.filter((a) => a.getChild("temporary-auth-failure")).length;
    assert.deepEqual({ told, withheld }, { told: 5, withheld: 3 });
    for (const c of clients) c.close();
    // The owner is unaffected.
    const owner = await direct(server, OWNER);
    assert.equal((await owner.auth("SCRAM-SHA-1", "alice", "wonderland")).name, "success");
    owner.close();
  } finally {
    await server.stop();
  }
});

Deno.test("the per-account ceiling refuses every address once many have failed", async () => {
  const server = await startTestServer({
    auth: {
      perIpAndAccount: { maxFailures: 2, windowSeconds: 60 },
      perAccount: { maxFailures: 4, windowSeconds: 60 },
    },
  });
  try {
    for (const address of ["127.0.0.3", "127.0.0.4"]) {
      const c = await direct(server, address);
      for (let i = 0; i < 2; i++) {
        assert.ok((await c.auth("PLAIN", "alice", "nope")).getChild("not-authorized"));
      }
      c.close();
    }
    const owner = await direct(server, OWNER);
    const refused = await owner.auth("PLAIN", "alice", "wonderland");
    assert.ok(refused.getChild("temporary-auth-failure"), refused.toString());
    assert.equal((await owner.auth("PLAIN", "bob", "builder")).name, "success");
    owner.close();
  } finally {
    await server.stop();
  }
});

Deno.test({
  name: "throttled logins are logged once per window, not once per attempt",
  // The server runs as a child process; its stderr pipe is read to the end.
  sanitizeResources: false,
  fn: async () => {
    // One failure per (account, address), 8 per address: the 2nd to 8th
    // attempts are refused by the first limit, the 9th on by the second.
    const server = await startServerProcess({
      auth: {
        provider: "internal",
        perIpAndAccount: { maxFailures: 1, windowSeconds: 60 },
        perIp: { maxFailures: 8, windowSeconds: 60 },
      },
    });
    try {
      const conditions: string[] = [];
      // RFC 6120 §6.4.5: 5 attempts per connection.
      for (let conn = 0; conn < 4; conn++) {
        const c = await TestClient.connect({ port: server.ports["c2sDirectTls"], directTls: true });
        await c.open();
        for (let i = 0; i < 4; i++) {
          const f = await c.auth("PLAIN", "nobody", `guess${conn}-${i}`);
          conditions.push(
            f.getChild("temporary-auth-failure")
              ? "temporary-auth-failure"
              : f.getChild("not-authorized")
              ? "not-authorized"
              : f.toString(),
          );
        }
        c.close();
      }
      assert.equal(conditions[0], "not-authorized");
      assert.ok(
        conditions.slice(1).every((c) => c === "temporary-auth-failure"),
        String(conditions),
      );
      // Let the log reach the pipe.
      await new Promise((r) => setTimeout(r, 200));
      const lines = server.log().split("\n").filter((l) => l.includes("authentication refused"));
      assert.equal(lines.length, 2, lines.join("\n"));
      assert.match(lines[0], /nobody@localhost.*127\.0\.0\.1.*ip-and-account/);
      assert.match(lines[1], /"127\.0\.0\.1": authentication refused/);
    } finally {
      await server.stop();
    }
  },
});
