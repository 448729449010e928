/** Per-server secret files: made once, kept, 0600, and one winner when several start at once. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadSecretFile } from "../../src/util/secret_file.ts";

Deno.test("secret file: racing first loads all get the one secret written, mode 0600", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-secret-" });
  try {
    const path = join(dir, "nested", "key");
    const all = await Promise.all(Array.from({ length: 8 }, () => loadSecretFile(path, 32)));
    for (const s of all) assert.deepEqual(s, all[0]);
    assert.deepEqual(await loadSecretFile(path, 32), all[0], "kept, not made again");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    // No temporary files left behind.
    const names = [];
    for await (const e of Deno.readDir(join(dir, "nested"))) names.push(e.name);
    assert.deepEqual(names, ["key"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("secret file: one too short is an error, not silently used", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-secret-" });
  try {
    const path = join(dir, "key");
    await Deno.writeFile(path, new Uint8Array(5));
    await assert.rejects(() => loadSecretFile(path, 32), /too short/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
