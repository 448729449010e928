import assert from "node:assert/strict";
import { join } from "node:path";
import { openAdminSocket } from "../../src/reload/admin_socket.ts";
import { adminRequest } from "../../src/reload/admin_client.ts";

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "parley-admin-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const echo = { echo: (r: Record<string, unknown>) => Promise.resolve(r.value) };

Deno.test("admin socket: mode 0600, one JSON line each way, errors as answers", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "data", "parley.sock");
    const admin = await openAdminSocket(path, {
      ...echo,
      fail: () => Promise.reject(new Error("broken")),
    });
    assert.ok(admin);
    try {
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
      assert.deepEqual(await adminRequest(path, { command: "echo", value: [1, "a"] }), {
        ok: true,
        result: [1, "a"],
      });
      assert.deepEqual(await adminRequest(path, { command: "fail" }), {
        ok: false,
        error: "broken",
      });
      const unknown = await adminRequest(path, { command: "toString" });
      assert.equal(unknown.ok, false);
      // Not JSON, not an object: answered, and the socket keeps serving.
      for (
        const [line, error] of [["hello\n", "the request is not JSON"], [
          "[1]\n",
          "the request must be a JSON object",
        ]]
      ) {
        const conn = await Deno.connect({ transport: "unix", path });
        await conn.write(new TextEncoder().encode(line));
        const buf = new Uint8Array(4096);
        const n = await conn.read(buf);
        conn.close();
        assert.deepEqual(JSON.parse(new TextDecoder().decode(buf.subarray(0, n!))), {
          ok: false,
          error,
        });
      }
      assert.equal((await adminRequest(path, { command: "echo", value: 2 })).ok, true);
    } finally {
      await admin.close();
    }
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  });
});

Deno.test("admin socket: a stale socket file is replaced; a live one or a plain file is left alone", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "parley.sock");
    // A socket file nobody listens on any more, as a killed server leaves it
    // (a clean close unlinks it): a child that listens, then dies of SIGKILL.
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `Deno.listen({ transport: "unix", path: ${JSON.stringify(path)} }); ` +
        `console.log("up"); setInterval(() => {}, 1000);`,
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.getReader();
    await reader.read();
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel();
    assert.ok((await Deno.lstat(path)).isSocket);
    const admin = await openAdminSocket(path, echo);
    assert.ok(admin);
    // A second server on the same dataDir does not take the live socket over.
    assert.equal(await openAdminSocket(path, echo), undefined);
    assert.equal((await adminRequest(path, { command: "echo", value: 1 })).ok, true);
    await admin.close();
    const file = join(dir, "not-a-socket");
    await Deno.writeTextFile(file, "keep me");
    assert.equal(await openAdminSocket(file, echo), undefined);
    assert.equal(await Deno.readTextFile(file), "keep me");
  });
});

Deno.test("admin socket: past 8 connections at once, more are closed unanswered", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "parley.sock");
    const admin = await openAdminSocket(path, echo);
    assert.ok(admin);
    const idle: Deno.Conn[] = [];
    try {
      // Connections that never send their request hold their places.
      for (let i = 0; i < 8; i++) idle.push(await Deno.connect({ transport: "unix", path }));
      const extra = await Deno.connect({ transport: "unix", path });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const read = await Promise.race([
        extra.read(new Uint8Array(16)).catch(() => null),
        new Promise<"open">((resolve) => timer = setTimeout(() => resolve("open"), 2000)),
      ]);
      clearTimeout(timer);
      extra.close();
      assert.equal(read, null, "the ninth connection is closed at once");
      for (const conn of idle.splice(0)) conn.close();
      // Places freed: answered again (the server notices the closes first).
      let answer;
      for (let i = 0; i < 50 && answer === undefined; i++) {
        answer = await adminRequest(path, { command: "echo", value: 1 }, 1000).catch(() => {
          return new Promise<undefined>((r) => setTimeout(() => r(undefined), 20));
        });
      }
      assert.deepEqual(answer, { ok: true, result: 1 });
    } finally {
      for (const conn of idle) conn.close();
      await admin.close();
    }
  });
});
