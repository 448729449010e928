/**
 * HTTP file upload under hostile use (a security review): quotas that
 * hold against requests in flight together, file names that cannot
 * disguise themselves, and uploads that end with their owner's account.
 */
import assert from "node:assert/strict";
import { removeAccount, type TestServer, withTestServer } from "../helpers/server.ts";
import type { TestClient } from "../helpers/client.ts";
import {
  local,
  login,
  NS_UPLOAD,
  put,
  requestSlot,
  slotOf,
  startRawPut,
  UPLOAD,
  writeAll,
} from "../helpers/upload.ts";

const withServer = withTestServer;

/** Send `count` slot requests at once from `c`, then collect the `count` replies. */
async function burst(c: TestClient, tag: string, count: number, size: number) {
  let xml = "";
  for (let i = 0; i < count; i++) {
    xml += `<iq type='get' id='${tag}-${i}' to='${UPLOAD}'>` +
      `<request xmlns='${NS_UPLOAD}' filename='${tag}-${i}.bin' size='${size}'/></iq>`;
  }
  c.send(xml);
  const replies = [];
  for (let i = 0; i < count; i++) {
    replies.push(await c.stanza((e) => e.attrs.id === `${tag}-${i}`));
  }
  return replies;
}

Deno.test("upload review: slot requests in flight together cannot overrun the daily quota", async () => {
  await withServer({ upload: { userQuotaBytesPerDay: 100 } }, async (server) => {
    const a = await login(server);
    const b = await secondSession(server);
    const [ra, rb] = await Promise.all([burst(a, "a", 4, 60), burst(b, "b", 4, 60)]);
    const granted = [...ra, ...rb].filter((r) => r.attrs.type === "result").length;
    assert.equal(granted, 1, "one 60-byte slot fits a 100-byte daily quota");
    a.close();
    b.close();
  });
});

async function secondSession(server: TestServer): Promise<TestClient> {
  const { TestClient } = await import("../helpers/client.ts");
  return await TestClient.login({
    port: server.ports.c2s,
    user: "alice",
    password: "wonderland",
    resource: "second",
  });
}

Deno.test("upload review: bidi and C1 controls leave a file name (no 'evil<RLO>gnp.exe')", async () => {
  await withServer({}, async (server) => {
    const alice = await login(server);
    const name = "evil&#x202E;gnp.exe&#x2066;&#x200F;&#x85;&#x2028;";
    alice.send(
      `<iq type='get' id='rtl' to='${UPLOAD}'>` +
        `<request xmlns='${NS_UPLOAD}' filename='${name}' size='3'/></iq>`,
    );
    const reply = await alice.stanza((e) => e.attrs.id === "rtl");
    const slot = slotOf(reply);
    assert.equal(decodeURIComponent(new URL(slot.get).pathname.split("/").pop()!), "evilgnp.exe");
    assert.equal((await put(server, slot.put, "abc")).status, 201);
    const got = await fetch(local(server, slot.get));
    await got.body?.cancel();
    assert.equal(
      got.headers.get("content-disposition"),
      `attachment; filename="evilgnp.exe"; filename*=UTF-8''evilgnp.exe`,
    );
    alice.close();
  });
});

async function readAll(conn: Deno.Conn): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const chunk of conn.readable) parts.push(chunk);
  return new TextDecoder().decode(await new Blob(parts as BlobPart[]).arrayBuffer());
}

Deno.test("upload review: a PUT under way when its owner's account goes keeps nothing", async () => {
  await withServer({}, async (server) => {
    const alice = await login(server);
    const size = 256 * 1024;
    const data = new Uint8Array(size);
    const slot = slotOf(await requestSlot(alice, { filename: "late.bin", size }));
    alice.close();
    const conn = await startRawPut(server, slot.put, size, data.subarray(0, size / 2));
    const dir = `${server.dataDir}/uploads/${UPLOAD}`;
    const names = async () => {
      const out: string[] = [];
      for await (const e of Deno.readDir(dir)) out.push(e.name);
      return out;
    };
    // Bounded wait until the PUT is being written on the server.
    let part = false;
    for (let i = 0; i < 500 && !part; i++) {
      part = (await names()).some((n) => n.endsWith(".part"));
      if (!part) await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(part, "the PUT is under way");
    await removeAccount(server, "alice");
    await writeAll(conn, data.subarray(size / 2));
    const answer = await readAll(conn);
    assert.doesNotMatch(answer, /^HTTP\/1.1 2/);
    assert.deepEqual(await names(), [], "no bytes or metadata of a removed account");
    const got = await fetch(local(server, slot.get));
    assert.equal(got.status, 404);
    await got.body?.cancel();
  });
});

Deno.test("upload review: a shared cache may not keep a file past its removal (Cache-Control private)", async () => {
  await withServer({}, async (server) => {
    const alice = await login(server);
    const slot = slotOf(await requestSlot(alice, { filename: "a.txt", size: 3 }));
    assert.equal((await put(server, slot.put, "abc")).status, 201);
    const got = await fetch(local(server, slot.get));
    await got.body?.cancel();
    const cc = got.headers.get("cache-control")!;
    assert.match(cc, /\bprivate\b/);
    assert.doesNotMatch(cc, /\bpublic\b/);
    alice.close();
  });
});
