/**
 * HTTP file upload (XEP-0363) on upload.localhost: slot → PUT → GET with
 * the same bytes and safe headers, ranges, the size/type/quota refusals
 * as the XEP words them, signed and single-use PUT URLs, CORS, removal
 * with the account, and expiry.
 */
import assert from "node:assert/strict";
import * as https from "node:https";
import { errorCondition } from "../helpers/client.ts";
import { scrape, value } from "../helpers/metrics.ts";
import { removeAccount, withTestServer } from "../helpers/server.ts";
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

async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of conn.readable) parts.push(chunk);
  return new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer());
}

const BYTES = new TextEncoder().encode("0123456789abcdefghij") as Uint8Array<ArrayBuffer>;

Deno.test("upload: disco#info shows the service and its size limit", async () => {
  await withServer({ upload: { maxFileBytes: 5000 } }, async (server) => {
    const alice = await login(server);
    alice.send(
      `<iq type='get' id='i1' to='${UPLOAD}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
    );
    const info = await alice.stanza((e) => e.attrs.id === "i1");
    const q = info.getChild("query", "http://jabber.org/protocol/disco#info")!;
    assert.ok(q, String(info));
    assert.ok(q.getChildren("feature").some((f) => f.attrs.var === NS_UPLOAD));
    assert.equal(q.getChild("identity")!.attrs.category, "store");
    const fields = q.getChild("x", "jabber:x:data")!.getChildren("field");
    assert.equal(fields.find((f) => f.attrs.var === "FORM_TYPE")!.getChildText("value"), NS_UPLOAD);
    assert.equal(
      fields.find((f) => f.attrs.var === "max-file-size")!.getChildText("value"),
      "5000",
    );
    // The parent lists it.
    alice.send(
      `<iq type='get' id='i2' to='localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`,
    );
    const items = await alice.stanza((e) => e.attrs.id === "i2");
    assert.ok(
      items.getChild("query", "http://jabber.org/protocol/disco#items")!.getChildren("item").some((
        i,
      ) => i.attrs.jid === UPLOAD),
    );
    alice.close();
  });
});

Deno.test("upload: slot, PUT, GET returns the bytes with safe headers; HEAD; HTTPS", async () => {
  await withServer({}, async (server) => {
    const alice = await login(server);
    const reply = await requestSlot(alice, {
      filename: "notes.txt",
      size: BYTES.length,
      type: "text/plain",
    });
    assert.equal(reply.attrs.type, "result", String(reply));
    const slot = slotOf(reply);
    assert.equal(new URL(slot.get).origin, `https://${UPLOAD}:${server.ports.https}`);
    assert.equal(slot.put.split("?")[0], slot.get);
    const before = await scrape(server);
    const res = await put(server, slot.put, BYTES, { "content-type": "text/plain" });
    assert.equal(res.status, 201, await res.text());
    // Metrics count the stored file and its bytes.
    const after = await scrape(server);
    assert.equal(value(after, "parley_uploads_total") - value(before, "parley_uploads_total"), 1);
    assert.equal(
      value(after, "parley_upload_bytes_total") - value(before, "parley_upload_bytes_total"),
      BYTES.length,
    );

    const got = await fetch(local(server, slot.get));
    assert.equal(got.status, 200);
    assert.deepEqual(new Uint8Array(await got.arrayBuffer()), BYTES);
    assert.equal(got.headers.get("content-type"), "text/plain");
    assert.equal(got.headers.get("content-length"), String(BYTES.length));
    assert.equal(got.headers.get("x-content-type-options"), "nosniff");
    assert.match(got.headers.get("content-disposition")!, /^attachment; filename="notes.txt"/);
    assert.match(got.headers.get("content-security-policy")!, /default-src 'none'.*sandbox/);
    assert.equal(got.headers.get("access-control-allow-origin"), "*");
    assert.match(got.headers.get("cache-control")!, /max-age=\d+/);
    const etag = got.headers.get("etag")!;
    assert.ok(etag);
    const again = await fetch(local(server, slot.get), { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    await again.body?.cancel();

    const head = await fetch(local(server, slot.get), { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), String(BYTES.length));

    // Another name on the same id is not the file.
    const u = new URL(local(server, slot.get));
    const other = await fetch(u.href.replace(/notes\.txt$/, "other.txt"));
    assert.equal(other.status, 404);
    await other.body?.cancel();

    // The same path over the HTTPS listener (the URL handed out).
    const body = await new Promise<string>((resolve, reject) => {
      https.get({
        host: "127.0.0.1",
        port: server.ports.https,
        path: new URL(slot.get).pathname,
        servername: UPLOAD,
        headers: { host: `${UPLOAD}:${server.ports.https}` },
        rejectUnauthorized: false,
      }, (r) => {
        let s = "";
        r.setEncoding("utf8");
        r.on("data", (d) => s += d);
        r.on("end", () => resolve(s));
      }).on("error", reject);
    });
    assert.equal(body, new TextDecoder().decode(BYTES));
    alice.close();
  });
});

Deno.test("upload: images are inline; a file name with spaces and non-ASCII survives", async () => {
  await withServer({}, async (server) => {
    const alice = await login(server);
    const slot = slotOf(
      await requestSlot(alice, { filename: "été photo.png", size: 4, type: "image/png" }),
    );
    assert.equal(
      (await put(server, slot.put, new Uint8Array([0x89, 0x50, 0x4e, 0x47]), {
        "content-type": "image/png",
      })).status,
      201,
    );
    const got = await fetch(local(server, slot.get));
    assert.equal(got.status, 200);
    assert.equal(got.headers.get("content-type"), "image/png");
    assert.match(
      got.headers.get("content-disposition")!,
      /^inline; .*filename\*=UTF-8''%C3%A9t%C3%A9%20photo\.png/,
    );
    await got.body?.cancel();
    alice.close();
  });
});

Deno.test("upload: range requests (206, suffix, 416)", async () => {
  await withServer({}, async (server) => {
    const alice = await login(server);
    const slot = slotOf(await requestSlot(alice, { filename: "r.bin", size: BYTES.length }));
    assert.equal((await put(server, slot.put, BYTES)).status, 201);
    const url = local(server, slot.get);
    const part = await fetch(url, { headers: { range: "bytes=2-5" } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get("content-range"), `bytes 2-5/${BYTES.length}`);
    assert.equal(await part.text(), "2345");
    const tail = await fetch(url, { headers: { range: "bytes=-3" } });
    assert.equal(tail.status, 206);
    assert.equal(await tail.text(), "hij");
    const open = await fetch(url, { headers: { range: "bytes=18-" } });
    assert.equal(await open.text(), "ij");
    const bad = await fetch(url, { headers: { range: "bytes=99-" } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get("content-range"), `bytes */${BYTES.length}`);
    await bad.body?.cancel();
    alice.close();
  });
});

Deno.test("upload: too large gets file-too-large with max-file-size; wrong type is refused", async () => {
  await withServer(
    { upload: { maxFileBytes: 1000, allowedTypes: ["image/*", "text/plain"] } },
    async (server) => {
      const alice = await login(server);
      const big = await requestSlot(alice, { filename: "big.png", size: 1001, type: "image/png" });
      assert.equal(big.attrs.type, "error");
      assert.equal(errorCondition(big), "not-acceptable");
      const error = big.getChild("error")!;
      assert.equal(error.attrs.type, "modify");
      assert.equal(
        error.getChild("file-too-large", NS_UPLOAD)!.getChildText("max-file-size"),
        "1000",
      );
      const exe = await requestSlot(alice, {
        filename: "x.exe",
        size: 10,
        type: "application/x-msdownload",
      });
      assert.equal(errorCondition(exe), "not-acceptable");
      const ok = await requestSlot(alice, { filename: "a.jpg", size: 10, type: "image/jpeg" });
      assert.equal(ok.attrs.type, "result");
      const missing = await requestSlot(alice, { filename: "a.jpg" });
      assert.equal(errorCondition(missing), "bad-request");
      alice.close();
    },
  );
});

Deno.test("upload: PUT checks signature, expiry, length, type; one PUT per slot", async () => {
  await withServer({}, async (server) => {
    const alice = await login(server);
    const slot = slotOf(
      await requestSlot(alice, { filename: "a.txt", size: 20, type: "text/plain" }),
    );
    // Bad signature.
    const forged = slot.put.replace(/sig=([0-9a-f])/, (_, c) => `sig=${c === "0" ? "1" : "0"}`);
    assert.equal((await put(server, forged, BYTES)).status, 403);
    // Another expiry than signed.
    const later = slot.put.replace(/expires=(\d+)/, (_, e) => `expires=${Number(e) + 1000}`);
    assert.equal((await put(server, later, BYTES)).status, 403);
    // Wrong type, wrong length.
    assert.equal((await put(server, slot.put, BYTES, { "content-type": "text/html" })).status, 415);
    assert.equal((await put(server, slot.put, BYTES.slice(0, 5))).status, 400);
    assert.equal((await put(server, slot.put, new Uint8Array(25))).status, 413);
    // Expired: the same slot an hour later.
    const realNow = Date.now;
    Date.now = () => realNow() + 3600_000;
    try {
      assert.equal(
        (await put(server, slot.put, BYTES, { "content-type": "text/plain" })).status,
        403,
      );
    } finally {
      Date.now = realNow;
    }
    // The right PUT still works (failed attempts do not use the slot), once.
    assert.equal(
      (await put(server, slot.put, BYTES, { "content-type": "text/plain" })).status,
      201,
    );
    assert.equal(
      (await put(server, slot.put, BYTES, { "content-type": "text/plain" })).status,
      409,
    );
    // No GET before… and a GET of a never-uploaded slot is 404.
    const slot2 = slotOf(await requestSlot(alice, { filename: "b.txt", size: 1 }));
    const none = await fetch(local(server, slot2.get));
    assert.equal(none.status, 404);
    await none.body?.cancel();
    alice.close();
  });
});

Deno.test("upload: daily quota and service quota refuse with resource-constraint", async () => {
  await withServer(
    { upload: { userQuotaBytesPerDay: 100, globalQuotaBytes: 150 } },
    async (server) => {
      const alice = await login(server);
      const first = slotOf(await requestSlot(alice, { filename: "1.bin", size: 60 }));
      assert.equal((await put(server, first.put, new Uint8Array(60))).status, 201);
      const over = await requestSlot(alice, { filename: "2.bin", size: 50 });
      assert.equal(errorCondition(over), "resource-constraint");
      assert.equal(over.getChild("error")!.attrs.type, "wait");
      assert.ok(over.getChild("error")!.getChild("retry", NS_UPLOAD)!.attrs.stamp);
      // Bob has his own daily quota, but the service holds 150 bytes in all.
      const bob = await login(server, "bob");
      assert.equal((await requestSlot(bob, { filename: "b.bin", size: 80 })).attrs.type, "result");
      const full = await requestSlot(bob, { filename: "c.bin", size: 20 });
      assert.equal(errorCondition(full), "resource-constraint");
      alice.close();
      bob.close();
    },
  );
});

Deno.test("upload: only users of the parent domain get slots", async () => {
  await withServer({ hosts: ["localhost", "other.localhost"] }, async (server) => {
    const { TestClient } = await import("../helpers/client.ts");
    await server.auth.createUser("other.localhost", "carol", "pw");
    const carol = await TestClient.login({
      port: server.ports.c2s,
      user: "carol",
      password: "pw",
      resource: "r",
      domain: "other.localhost",
    });
    const reply = await requestSlot(carol, { filename: "a.txt", size: 1 });
    assert.equal(errorCondition(reply), "forbidden");
    const own = await requestSlot(carol, { filename: "a.txt", size: 1 }, "upload.other.localhost");
    assert.equal(own.attrs.type, "result");
    carol.close();
  });
});

Deno.test("upload: CORS preflight for PUT and GET", async () => {
  await withServer({ upload: { corsOrigins: ["https://web.example"] } }, async (server) => {
    const alice = await login(server);
    const slot = slotOf(
      await requestSlot(alice, { filename: "a.txt", size: 20, type: "text/plain" }),
    );
    const pre = await fetch(local(server, slot.put), {
      method: "OPTIONS",
      headers: {
        origin: "https://web.example",
        "access-control-request-method": "PUT",
        "access-control-request-headers": "content-type",
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), "https://web.example");
    assert.match(pre.headers.get("access-control-allow-methods")!, /PUT/);
    assert.match(pre.headers.get("access-control-allow-headers")!, /content-type/i);
    const stranger = await fetch(local(server, slot.put), {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "PUT" },
    });
    assert.equal(stranger.headers.get("access-control-allow-origin"), null);
    assert.equal(
      (await put(server, slot.put, BYTES, {
        origin: "https://evil.example",
        "content-type": "text/plain",
      })).status,
      403,
    );
    const res = await put(server, slot.put, BYTES, {
      origin: "https://web.example",
      "content-type": "text/plain",
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("access-control-allow-origin"), "https://web.example");
    const getPre = await fetch(local(server, slot.get), {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
    });
    assert.equal(getPre.headers.get("access-control-allow-origin"), "*");
    alice.close();
  });
});

Deno.test("upload: files go with the account, and expire after expireDays", async () => {
  await withServer({ upload: { expireDays: 2 } }, async (server) => {
    const alice = await login(server);
    const bob = await login(server, "bob");
    const a = slotOf(await requestSlot(alice, { filename: "a.txt", size: 3 }));
    const b = slotOf(await requestSlot(bob, { filename: "b.txt", size: 3 }));
    assert.equal((await put(server, a.put, "aaa")).status, 201);
    assert.equal((await put(server, b.put, "bbb")).status, 201);
    const dir = `${server.dataDir}/uploads/${UPLOAD}`;
    const count = async () => {
      let n = 0;
      for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".data")) n++;
      return n;
    };
    assert.equal(await count(), 2);
    alice.close();
    // Remove alice's account: her file goes.
    await removeAccount(server, "alice");
    const gone = await fetch(local(server, a.get));
    assert.equal(gone.status, 404);
    await gone.body?.cancel();
    assert.equal(await count(), 1);
    // Bob's expires once older than 2 days.
    const events = server.hosts.get(UPLOAD)!.events;
    await events.fire("upload/expire", {});
    assert.equal(await count(), 1);
    const realNow = Date.now;
    Date.now = () => realNow() + 3 * 86_400_000;
    try {
      await events.fire("upload/expire", {});
    } finally {
      Date.now = realNow;
    }
    assert.equal(await count(), 0);
    const expired = await fetch(local(server, b.get));
    assert.equal(expired.status, 404);
    await expired.body?.cancel();
    bob.close();
  });
});

Deno.test("upload: a file larger than http.maxBodyBytes streams through; concurrent second PUT conflicts", async () => {
  await withServer({ http: { maxBodyBytes: 1024 * 1024 } }, async (server) => {
    const alice = await login(server);
    const size = 3 * 1024 * 1024;
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i += 4096) data[i] = i / 4096 & 0xff;
    const slot = slotOf(await requestSlot(alice, { filename: "big.bin", size }));
    // The first PUT over a raw socket, stopped halfway: a second PUT meanwhile is a conflict.
    const conn = await startRawPut(server, slot.put, size, data.subarray(0, size / 2));
    // Bounded wait until the first PUT is being written on the server.
    const dir = `${server.dataDir}/uploads/${UPLOAD}`;
    let part = false;
    for (let i = 0; i < 500 && !part; i++) {
      for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".part")) part = true;
      if (!part) await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(part, "the first PUT is under way");
    const second = await put(server, slot.put, data);
    assert.equal(second.status, 409);
    await second.body?.cancel();
    await writeAll(conn, data.subarray(size / 2));
    const answer = new TextDecoder().decode(await readAll(conn));
    assert.match(answer, /^HTTP\/1.1 201/);
    const got = await fetch(local(server, slot.get));
    assert.deepEqual(new Uint8Array(await got.arrayBuffer()), data);
    alice.close();
  });
});

Deno.test("upload: a GET the client stops reading stays counted against http.maxRequestsPerIp", async () => {
  await withServer({ http: { maxRequestsPerIp: 1 } }, async (server) => {
    const alice = await login(server);
    // Larger than what the loopback socket buffers take: the body cannot be sent whole.
    const big = new Uint8Array(32 * 1024 * 1024);
    const slot = slotOf(await requestSlot(alice, { filename: "big.bin", size: big.length }));
    assert.equal((await put(server, slot.put, big)).status, 201);
    const path = new URL(slot.get).pathname;
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.ports.http });
    try {
      await writeAll(conn, new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`));
      const head = new Uint8Array(1024);
      assert.match(new TextDecoder().decode(head.subarray(0, await conn.read(head) ?? 0)), / 200 /);
      // Not read any further: a second request from this address is refused.
      const second = await fetch(local(server, slot.get));
      assert.equal(second.status, 429);
      await second.body?.cancel();
    } finally {
      conn.close();
      alice.close();
    }
  });
});
