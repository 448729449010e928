/** The upload store's restart behaviour, byte ranges and file-name hygiene. */
import assert from "node:assert/strict";
import { FileStore } from "../../src/modules/upload/store.ts";
import { parseRange } from "../../src/modules/upload/http_headers.ts";
import { normalizeType, sanitizeName } from "../../src/modules/upload/slots.ts";
import { SlotSigner } from "../../src/modules/upload/signing.ts";

const body = (s: string) => new Blob([s]).stream();

/** A slot of alice's for a three-byte text file, valid for a minute. */
function aliceSlot() {
  return {
    id: "AAAAAAAAAAAAAAAAAAAAAA",
    name: "a.txt",
    owner: "alice@localhost",
    size: 3,
    type: "text/plain",
    expires: Math.floor(Date.now() / 1000) + 60,
    granted: Date.now(),
  };
}

async function namesIn(dir: string): Promise<string[]> {
  const names = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names;
}

Deno.test("upload store: files survive a restart; leftovers of interrupted writes go", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = await FileStore.open(dir);
    const r = aliceSlot();
    store.reserve(r);
    assert.equal(await store.write(r, "text/plain", body("abcd"), Date.now), "long");
    assert.equal(await store.write(r, "text/plain", body("ab"), Date.now), "short");
    const [one, two] = await Promise.all([
      store.write(r, "text/plain", body("abc"), Date.now),
      store.write(r, "text/plain", body("abc"), Date.now),
    ]);
    assert.deepEqual([one, two], ["ok", "taken"]);
    assert.equal(await store.write(r, "text/plain", body("abc"), Date.now), "taken");
    await Deno.writeTextFile(`${dir}/BBBBBBBBBBBBBBBBBBBBBB.part`, "half");
    await Deno.writeTextFile(`${dir}/CCCCCCCCCCCCCCCCCCCCCC.json`, "{}");
    await Deno.writeTextFile(`${dir}/DDDDDDDDDDDDDDDDDDDDDD.data`, "orphan");
    const again = await FileStore.open(dir);
    assert.deepEqual(again.get(r.id)?.owner, "alice@localhost");
    assert.equal(again.fileCount, 1);
    assert.equal(again.committedBytes(Date.now()), 3);
    const names = await namesIn(dir);
    assert.deepEqual(names.sort(), [`${r.id}.data`, `${r.id}.json`]);
    assert.equal(await again.removeOwner("alice@localhost"), 1);
    assert.equal(again.fileCount, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("upload store: opened untidy (beside a running server), another upload under way stays", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = await FileStore.open(dir);
    const r = aliceSlot();
    store.reserve(r);
    assert.equal(await store.write(r, "text/plain", body("abc"), Date.now), "ok");
    // What a server's PUT looks like between its steps: bytes, then metadata, then the rename.
    const underWay = ["BBBBBBBBBBBBBBBBBBBBBB.part", "BBBBBBBBBBBBBBBBBBBBBB.json"];
    for (const name of underWay) await Deno.writeTextFile(`${dir}/${name}`, "{}");
    const beside = await FileStore.open(dir, { tidy: false });
    assert.equal(beside.fileCount, 1);
    assert.equal(await beside.removeOwner("alice@localhost"), 1);
    const names = await namesIn(dir);
    assert.deepEqual(names.sort(), underWay.sort());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("upload signer: the same secret after a restart; a changed claim fails", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const claims = { path: "u/x/a.txt", size: 3, contentType: "text/plain", expires: 99 };
    const sig = await (await SlotSigner.open(dir)).sign(claims);
    const again = await SlotSigner.open(dir);
    assert.equal(await again.verify(claims, sig), true);
    assert.equal(await again.verify({ ...claims, size: 4 }, sig), false);
    assert.equal(await again.verify(claims, sig.slice(0, -2)), false);
    assert.equal(await again.verify(claims, "zz"), false);
    assert.equal((await Deno.stat(`${dir}/secret`)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("upload: byte ranges", () => {
  assert.deepEqual(parseRange("bytes=0-0", 10), [0, 0]);
  assert.deepEqual(parseRange("bytes=5-", 10), [5, 9]);
  assert.deepEqual(parseRange("bytes=5-100", 10), [5, 9]);
  assert.deepEqual(parseRange("bytes=-4", 10), [6, 9]);
  assert.deepEqual(parseRange("bytes=-40", 10), [0, 9]);
  assert.equal(parseRange("bytes=10-", 10), "unsatisfiable");
  assert.equal(parseRange("bytes=-0", 10), "unsatisfiable");
  assert.equal(parseRange("bytes=5-2", 10), undefined);
  assert.equal(parseRange("bytes=0-1,3-4", 10), undefined);
  assert.equal(parseRange("items=0-1", 10), undefined);
});

Deno.test("upload: file names and content types", () => {
  assert.equal(sanitizeName("../../etc/passwd"), "passwd");
  assert.equal(sanitizeName("C:\\x\\y.txt"), "y.txt");
  assert.equal(sanitizeName("a\nb\u0000.txt"), "ab.txt");
  assert.equal(sanitizeName(".."), undefined);
  assert.equal(sanitizeName(""), undefined);
  assert.equal([...sanitizeName("é".repeat(500))!].length, 200);
  assert.equal(normalizeType("Text/Plain; charset=utf-8"), "text/plain");
  assert.equal(normalizeType(undefined), "");
  assert.equal(normalizeType("text/plain\nx: y"), undefined);
  assert.equal(normalizeType("nonsense"), undefined);
});

Deno.test("upload store: a PUT under way still counts against the slot and byte quotas", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = await FileStore.open(dir);
    const now = Date.now();
    const r = {
      id: "EEEEEEEEEEEEEEEEEEEEEE",
      name: "slow.bin",
      owner: "alice@localhost",
      size: 4,
      type: "",
      // Already past its expiry once the write is under way.
      expires: Math.floor(now / 1000) - 1,
      granted: now,
    };
    store.reserve(r);
    let push!: ReadableStreamDefaultController<Uint8Array>;
    const slow = new ReadableStream<Uint8Array>({ start: (c) => void (push = c) });
    const writing = store.write(r, "application/octet-stream", slow, () => now);
    push.enqueue(new Uint8Array(2));
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(store.reservationsOf(r.owner, now), 1);
    assert.equal(store.usageToday(r.owner, now).bytes, 4);
    assert.equal(store.committedBytes(now), 4);
    push.enqueue(new Uint8Array(2));
    push.close();
    assert.equal(await writing, "ok");
    assert.equal(store.reservationsOf(r.owner, now), 0);
    assert.equal(store.usageToday(r.owner, now).bytes, 4);
    assert.equal(store.usageToday("bob@localhost", now).bytes, 0);
    assert.equal(store.committedBytes(now), 4);
    assert.equal(await store.removeOwner(r.owner), 1);
    assert.equal(store.usageToday(r.owner, now).bytes, 0);
    assert.equal(await store.removeOwner(r.owner), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
