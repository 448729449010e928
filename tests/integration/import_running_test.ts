/**
 * `parley import prosody --apply` while the server runs would write
 * rosters, block lists and PEP nodes under a server that caches them for
 * online users and writes its copies back: it refuses, and writes nothing.
 * A dry run still works (it only reads).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runParley } from "../helpers/parley_process.ts";

const MAIN = join(import.meta.dirname!, "..", "..", "main.ts");

Deno.test("parley import prosody --apply refuses while the server answers on its admin socket", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-import-running-" });
  const dataDir = join(dir, "data");
  await Deno.mkdir(dataDir);
  const prosody = join(dir, "prosody", "example.org", "accounts");
  await Deno.mkdir(prosody, { recursive: true });
  await Deno.writeTextFile(join(prosody, "alice.dat"), `return { ["password"] = "pw"; };`);
  const config = join(dir, "config.json");
  await Deno.writeTextFile(
    config,
    JSON.stringify({ hosts: ["example.org"], dataDir, storage: { driver: "sqlite" } }),
  );
  // Stands for the running server: something listening on its admin socket.
  const listener = Deno.listen({ transport: "unix", path: join(dataDir, "parley.sock") });
  const accepting = (async () => {
    for await (const conn of listener) conn.close();
  })();
  const args = ["import", "prosody", join(dir, "prosody"), "-c", config];
  try {
    const applied = await runParley(MAIN, [...args, "--apply"], { cwd: dir });
    assert.notEqual(applied.code, 0);
    assert.match(applied.stderr, /the server is running .*stop it before --apply/s);
    const dry = await runParley(MAIN, args, { cwd: dir });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /Dry run/);
  } finally {
    listener.close();
    await accepting.catch(() => {});
  }
  // Nothing listening (a socket file left behind): the import runs.
  const applied = await runParley(MAIN, [...args, "--apply"], { cwd: dir });
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /Imported from/);
  await Deno.remove(dir, { recursive: true });
});
