/**
 * Upload transfers have a deadline (`upload.transferBaseSeconds` plus the
 * size at `upload.transferMinBytesPerSecond`): a PUT whose body stalls is
 * refused with 408 and its connection closed, nothing of it kept, the slot
 * still usable; a download nobody reads has its file closed and is cut off.
 * Limits are made small here; every wait is bounded.
 */
import assert from "node:assert/strict";
import type { TestServer } from "../helpers/server.ts";
import {
  local,
  login,
  put,
  requestSlot,
  slotOf,
  UPLOAD,
  uploadServer,
  writeAll,
} from "../helpers/upload.ts";

/** Everything up to the end of the connection; "open" when it has not ended within `ms`. */
async function readToEnd(conn: Deno.Conn, ms: number): Promise<Uint8Array | "open"> {
  const parts: Uint8Array[] = [];
  const all = (async () => {
    const buf = new Uint8Array(256 * 1024);
    while (true) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) return new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer());
      parts.push(buf.slice(0, n));
    }
  })();
  return await within(all, ms);
}

/** What comes of a response until `until` is in it (ASCII), read within `ms`. */
async function readUntil(conn: Deno.Conn, until: string, ms: number): Promise<string> {
  const got = await within(
    (async () => {
      let text = "";
      const buf = new Uint8Array(4096);
      while (!text.includes(until)) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
      return text;
    })(),
    ms,
  );
  assert.notEqual(got, "open", `"${until}" within the wait`);
  return got as string;
}

async function within<T>(work: Promise<T>, ms: number): Promise<T | "open"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"open">((r) => timer = setTimeout(() => r("open"), ms));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Bounded poll until `check` holds. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`gave up waiting: ${what}`);
}

async function filesIn(server: TestServer): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(`${server.dataDir}/uploads/${UPLOAD}`)) names.push(e.name);
  return names;
}

/** Whether this process has the file at `path` open (Linux: /proc/self/fd). */
async function isOpen(path: string): Promise<boolean> {
  for await (const fd of Deno.readDir("/proc/self/fd")) {
    const target = await Deno.readLink(`/proc/self/fd/${fd.name}`).catch(() => "");
    if (target === path) return true;
  }
  return false;
}

Deno.test("upload deadline: a stalled PUT gets 408, is not kept, and the slot takes a retry", async () => {
  // One request at a time from this address: shows what the stalled connection holds.
  const server = await uploadServer({
    upload: { transferBaseSeconds: 1, transferMinBytesPerSecond: 1_000_000 },
    http: { maxRequestsPerIp: 1 },
  });
  const alice = await login(server);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.ports.http });
  let connOpen = true;
  try {
    const size = 1000;
    const data = new Uint8Array(size).fill(7);
    const slot = slotOf(await requestSlot(alice, { filename: "slow.bin", size }));
    const url = new URL(slot.put);
    const head = `PUT ${url.pathname}${url.search} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
      `Content-Length: ${size}\r\n\r\n`;
    await writeAll(conn, new TextEncoder().encode(head));
    await writeAll(conn, data.subarray(0, 10));
    // Nothing more is sent: the server gives up and answers.
    const answer = await readUntil(conn, "not received in time", 30_000);
    assert.match(answer, /^HTTP\/1.1 408 /);
    assert.deepEqual((await filesIn(server)).filter((n) => n !== "secret"), []);
    // While the stalled connection lasts, it keeps its place in http.maxRequestsPerIp.
    const refused = await fetch(local(server, slot.get));
    assert.equal(refused.status, 429);
    await refused.body?.cancel();
    conn.close();
    connOpen = false;
    // Then the slot, not used up, takes the PUT again, whole.
    let again: Response | undefined;
    await until(async () => {
      await again?.body?.cancel();
      again = await put(server, slot.put, data);
      return again.status !== 429;
    }, "the stalled request no longer counted");
    assert.equal(again!.status, 201);
    await again!.body?.cancel();
    const got = await fetch(local(server, slot.get));
    assert.deepEqual(new Uint8Array(await got.arrayBuffer()), data);
    // And a new slot works as ever.
    const other = slotOf(await requestSlot(alice, { filename: "next.bin", size: 3 }));
    const stored = await put(server, other.put, "abc");
    assert.equal(stored.status, 201);
    await stored.body?.cancel();
  } finally {
    if (connOpen) conn.close();
    alice.close();
    await server.stop();
  }
});

Deno.test("upload deadline: a PUT that trickles is refused too, and its connection closes", async () => {
  const server = await uploadServer({
    upload: { transferBaseSeconds: 1, transferMinBytesPerSecond: 1_000_000 },
  });
  const alice = await login(server);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.ports.http });
  try {
    const size = 100_000;
    const slot = slotOf(await requestSlot(alice, { filename: "drip.bin", size }));
    const url = new URL(slot.put);
    const head = `PUT ${url.pathname}${url.search} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
      `Content-Length: ${size}\r\n\r\n`;
    await writeAll(conn, new TextEncoder().encode(head));
    // A byte at a time, a little apart, until the answer comes (bounded by the size).
    let answered = false;
    const answer = readToEnd(conn, 60_000).finally(() => answered = true);
    for (let i = 0; i < size && !answered; i++) {
      const ok = await conn.write(new Uint8Array([i & 0xff])).then(() => true, () => false);
      if (!ok) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // The client still sending gets the whole answer, and then the connection ends.
    const got = await answer;
    assert.notEqual(got, "open", "the trickling PUT's connection is closed");
    const text = new TextDecoder().decode(got as Uint8Array);
    assert.match(text, /^HTTP\/1.1 408 /);
    assert.match(text, /not received in time/);
    assert.deepEqual((await filesIn(server)).filter((n) => n !== "secret"), []);
  } finally {
    conn.close();
    alice.close();
    await server.stop();
  }
});

Deno.test({
  name: "upload deadline: a download nobody reads has its file closed and is cut off",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    // 8 MiB: more than the loopback socket buffers take, so the body cannot be sent whole.
    const size = 8 * 1024 * 1024;
    const server = await uploadServer({
      upload: { transferBaseSeconds: 1, transferMinBytesPerSecond: 4 * 1024 * 1024 },
    });
    const alice = await login(server);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.ports.http });
    try {
      const slot = slotOf(await requestSlot(alice, { filename: "big.bin", size }));
      const stored = await put(server, slot.put, new Uint8Array(size));
      assert.equal(stored.status, 201);
      await stored.body?.cancel();
      const id = new URL(slot.get).pathname.split("/").at(-2)!;
      const path = await Deno.realPath(`${server.dataDir}/uploads/${UPLOAD}/${id}.data`);
      await writeAll(
        conn,
        new TextEncoder().encode(`GET ${new URL(slot.get).pathname} HTTP/1.1\r\nHost: x\r\n\r\n`),
      );
      await until(() => isOpen(path), "the download has the file open");
      // Not read: at the deadline the server closes the file…
      await until(async () => !(await isOpen(path)), "the file closed at the deadline");
      // …and the response ends short of its length, the connection with it.
      const got = await readToEnd(conn, 30_000);
      assert.notEqual(got, "open", "the connection ends once the client reads on");
      assert.ok((got as Uint8Array).length < size, "the body was cut off");
      // A download read at once is whole.
      const whole = await fetch(local(server, slot.get));
      assert.equal((await whole.arrayBuffer()).byteLength, size);
    } finally {
      conn.close();
      alice.close();
      await server.stop();
    }
  },
});
